/// The outcome of one `doctor` check: one line, with the fix when it did not pass.
public struct DoctorCheck: Sendable, Hashable, CustomStringConvertible {
    /// Whether a check passed. Opaque: compare with the static members.
    public struct Status: Sendable, Hashable, CustomStringConvertible {
        private let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }

        /// The check passed.
        public static let ok = Status("ok")
        /// It works now, but something is likely to break or lose data later.
        public static let warn = Status("warn")
        /// It does not work: `doctor` exits non-zero.
        public static let fail = Status("FAIL")

        public var description: String { rawValue }
    }

    /// The check's name, e.g. `wal_level` or `kafka_topics`.
    public var name: String
    public var status: Status
    /// What was found.
    public var detail: String
    /// What to change; set for `warn` and `FAIL`.
    public var fix: String?

    public init(_ name: String, _ status: Status, _ detail: String, fix: String? = nil) {
        self.name = name
        self.status = status
        self.detail = detail
        self.fix = fix
    }

    /// `<status> <name>: <detail>[ — fix: <fix>]`, the status padded to four characters.
    public var description: String {
        let padded = status.description + String(repeating: " ", count: max(0, 4 - status.description.count))
        var line = "\(padded) \(name): \(detail)"
        if let fix, status != .ok { line += " — fix: \(fix)" }
        return line
    }
}
