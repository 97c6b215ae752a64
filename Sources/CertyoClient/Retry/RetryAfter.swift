import Foundation

/// Parses a `Retry-After` header value (RFC 9110 section 10.2.3).
enum RetryAfter {
    /// The wait the value asks for: delay-seconds (`120`; a fraction is tolerated), or an HTTP date (IMF-fixdate,
    /// RFC 850 or asctime) measured from `now`. A date in the past means "now" (zero); garbage means `nil`.
    static func parse(_ value: String, now: Date) -> Duration? {
        let text = value.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { return nil }
        if text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) {
            // Delay-seconds. Absurd values saturate rather than fail: the caller still must wait.
            guard let seconds = Int64(text) else { return .seconds(Int64(Int32.max)) }
            return .seconds(seconds)
        }
        if let seconds = Double(text), seconds.isFinite, seconds >= 0, text.first?.isNumber == true {
            return .milliseconds(Int64((seconds * 1000).rounded(.up)))
        }
        for format in httpDateFormats {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = format
            if let date = formatter.date(from: text) {
                let interval = date.timeIntervalSince(now)
                return interval > 0 ? .milliseconds(Int64((interval * 1000).rounded(.up))) : .zero
            }
        }
        return nil
    }

    private static let httpDateFormats = [
        "EEE, dd MMM yyyy HH:mm:ss zzz",  // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
        "EEEE, dd-MMM-yy HH:mm:ss zzz",  // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
        "EEE MMM d HH:mm:ss yyyy",  // asctime: Sun Nov  6 08:49:37 1994
    ]
}
