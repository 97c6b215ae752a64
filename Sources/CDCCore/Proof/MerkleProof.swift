import Crypto

/// A Merkle inclusion proof as Certyo returns it: the siblings from the leaf upwards, each with its side.
public struct MerkleProof: Sendable, Hashable {
    public enum Position: String, Sendable, Hashable {
        /// The sibling sits on the left: parent = SHA-256(sibling ‖ node).
        case left
        /// The sibling sits on the right: parent = SHA-256(node ‖ sibling).
        case right
    }

    public struct Step: Sendable, Hashable {
        public var position: Position
        /// The sibling's 32 raw bytes.
        public var hash: [UInt8]

        public init(position: Position, hash: [UInt8]) {
            self.position = position
            self.hash = hash
        }
    }

    public var steps: [Step]

    public init(steps: [Step]) {
        self.steps = steps
    }

    /// Recomputes the root from `leaf` (the record hash's 32 raw bytes) and compares it with `root`.
    /// - Returns: Whether the proof leads from `leaf` to `root`; never trusts anything but the hashes.
    public func verifies(leaf: [UInt8], root: [UInt8]) -> Bool {
        guard leaf.count == 32, root.count == 32 else { return false }
        var node = leaf
        for step in steps {
            guard step.hash.count == 32 else { return false }
            var hasher = SHA256()
            switch step.position {
            case .left:
                hasher.update(data: step.hash)
                hasher.update(data: node)
            case .right:
                hasher.update(data: node)
                hasher.update(data: step.hash)
            }
            node = Array(hasher.finalize())
        }
        return node == root
    }
}

/// `sha256:<64 lowercase hex>` ↔ raw bytes.
public enum PrefixedSHA256 {
    /// The 32 bytes of a `sha256:<hex>` string, or nil if it is not one.
    public static func bytes(_ text: String) -> [UInt8]? {
        guard text.hasPrefix("sha256:") else { return nil }
        let hex = Array(text.utf8.dropFirst(7))
        guard hex.count == 64 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        var index = 0
        while index < 64 {
            guard let high = nibble(hex[index]), let low = nibble(hex[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func nibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
