/// A configuration mistake: names the setting (flag and environment variable) and the fix, never a secret value.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Backing: Hashable, Sendable { case missing, invalid, unreadableFile, conflict }
        private let backing: Backing
        private init(_ backing: Backing) { self.backing = backing }

        /// A required setting is absent.
        public static let missing = Code(.missing)
        /// A setting's value cannot be used.
        public static let invalid = Code(.invalid)
        /// A file named by a setting cannot be read.
        public static let unreadableFile = Code(.unreadableFile)
        /// Two settings contradict each other.
        public static let conflict = Code(.conflict)

        public var description: String { String(describing: backing) }
    }

    public var code: Code
    /// The setting as the operator writes it, e.g. `--certyo-url / CERTYO_BASE_URL`.
    public var setting: String
    /// What is wrong (never the value of a secret).
    public var message: String
    /// What to change.
    public var fix: String
    public var file: String
    public var line: Int

    public init(code: Code, setting: String, message: String, fix: String, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.setting = setting
        self.message = message
        self.fix = fix
        self.file = file
        self.line = line
    }

    public var description: String { "configuration error: \(setting): \(message); fix: \(fix)" }
}
