import Foundation

/// A Certyo API key (`cty_...`), which nothing but the `X-API-Key` request header ever sees.
///
/// `description`, `debugDescription`, `dump` and every reflection of the key print `cty_…(redacted)`, so a key held
/// in a configuration struct, an error or a log message cannot leak by being printed. Only ``CertyoClient`` reads the
/// secret, when it sets the header.
public struct CertyoAPIKey: Sendable, Hashable {
    /// The secret. Internal on purpose: the only reader is the request builder.
    let secret: String

    /// Wraps a key, trimming surrounding whitespace and newlines (a key file usually ends with a newline).
    ///
    /// - Parameter key: The key as found in `CERTYO_API_KEY` or the contents of `CERTYO_API_KEY_FILE`.
    public init(_ key: String) {
        self.secret = Self.trimmed(key)
    }

    /// `true` when the key is empty after trimming.
    public var isEmpty: Bool { secret.isEmpty }

    /// What every printed form of the key shows: the vendor's `cty_` prefix if the key has it, never more.
    static let redacted = "(redacted)"

    /// Replaces every occurrence of the secret in `text` with the redacted form.
    ///
    /// Used on everything that comes from outside (server messages, underlying error descriptions) before it is
    /// stored in a ``CertyoError``.
    func redact(_ text: String) -> String {
        guard !secret.isEmpty, text.contains(secret) else { return text }
        return text.replacing(secret, with: description)
    }

    private static func trimmed(_ key: String) -> String {
        key.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

// MARK: - CertyoAPIKey + CustomStringConvertible

extension CertyoAPIKey: CustomStringConvertible {
    public var description: String {
        secret.hasPrefix("cty_") ? "cty_…\(Self.redacted)" : "…\(Self.redacted)"
    }
}

// MARK: - CertyoAPIKey + CustomDebugStringConvertible

extension CertyoAPIKey: CustomDebugStringConvertible {
    public var debugDescription: String { "CertyoAPIKey(\(description))" }
}

// MARK: - CertyoAPIKey + CustomReflectable

extension CertyoAPIKey: CustomReflectable {
    public var customMirror: Mirror {
        Mirror(self, children: ["key": description], displayStyle: .struct)
    }
}
