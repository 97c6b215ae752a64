import Foundation

/// The validated base URL, and the request URLs and endpoint names built on it.
struct BaseURL: Sendable {
    /// `scheme://host[:port][/prefix]`, without a trailing slash. Holds no credentials (they are refused).
    let prefix: String

    /// Checks the parts of `configuration` that cannot be fixed by retrying.
    init(validating configuration: CertyoClient.Configuration) throws {
        let context = "CertyoClient.Configuration"
        func invalid(_ message: String, _ fix: String) -> CertyoError {
            CertyoError(code: .invalidConfiguration, endpoint: context, message: message, fix: fix)
        }
        let text = configuration.baseURL.trimmingCharacters(in: .whitespaces)
        guard let components = URLComponents(string: text),
            let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https"
        else {
            throw invalid("the base URL is not an http:// or https:// URL", "check CERTYO_BASE_URL")
        }
        // Checked before the host, so that no message ever needs to quote a URL that holds a password.
        guard components.user == nil, components.password == nil else {
            throw invalid(
                "the base URL contains credentials",
                "remove them from CERTYO_BASE_URL: Certyo authenticates with CERTYO_API_KEY"
            )
        }
        guard let host = components.host, !host.isEmpty else {
            throw invalid("the base URL \(text) has no host", "check CERTYO_BASE_URL")
        }
        guard components.query == nil, components.fragment == nil else {
            throw invalid("the base URL \(text) has a query or fragment", "check CERTYO_BASE_URL")
        }
        guard !configuration.apiKey.isEmpty else {
            throw invalid("the API key is empty", "set CERTYO_API_KEY or CERTYO_API_KEY_FILE")
        }
        guard configuration.apiKey.secret.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw invalid(
                "the API key contains characters that cannot go in an HTTP header (spaces, control or non-ASCII)",
                "check CERTYO_API_KEY or CERTYO_API_KEY_FILE"
            )
        }
        guard !configuration.tenantId.isEmpty else {
            throw invalid("the tenant id is empty", "set CERTYO_TENANT_ID")
        }
        var prefix = text
        while prefix.hasSuffix("/") { prefix.removeLast() }
        self.prefix = prefix
    }

    /// `METHOD base/path`, for logs and errors.
    func endpoint(_ method: String, _ path: String) -> String { "\(method) \(prefix)\(path)" }

    /// The request URL: base, path, and the query with every value percent-encoded.
    func url(_ path: String, query: [(String, String)] = []) -> String {
        guard !query.isEmpty else { return prefix + path }
        let pairs = query.map { "\(Self.percentEncoded($0.0))=\(Self.percentEncoded($0.1))" }
        return prefix + path + "?" + pairs.joined(separator: "&")
    }

    /// Percent-encodes everything but RFC 3986 unreserved characters (so `+`, `&`, `=` and `/` are encoded too).
    static func percentEncoded(_ value: String) -> String {
        var result = ""
        result.reserveCapacity(value.utf8.count)
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                result +=
                    "%" + String(byte >> 4, radix: 16, uppercase: true)
                    + String(byte & 0x0F, radix: 16, uppercase: true)
            }
        }
        return result
    }
}
