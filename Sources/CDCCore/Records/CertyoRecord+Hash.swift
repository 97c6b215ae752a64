import Crypto

// MARK: - CertyoRecord + hash

extension CertyoRecord {
    /// `sha256:` + lowercase hex SHA-256 of `recordPayload` (the JCS bytes), as Certyo computes `recordHash`.
    public var recordHash: String {
        let digest = SHA256.hash(data: recordPayload)
        var text: [UInt8] = Array("sha256:".utf8)
        text.reserveCapacity(71)
        for byte in digest {
            text.append(JCS.hexDigit(byte >> 4))
            text.append(JCS.hexDigit(byte & 0xF))
        }
        return String(decoding: text, as: UTF8.self)
    }
}
