/// The next offset a partition may commit: everything below it is done (accepted, skipped or dead-lettered).
///
/// Offsets are tracked in the order they were read (increasing) and marked done in any order; the watermark
/// moves only over a contiguous run of done offsets, so a slow or failed record holds back every record after it.
public struct OffsetWatermark: Sendable {
    private var offsets: [Int64] = []
    private var done: [Bool] = []
    private var head = 0
    /// The next offset to read once everything tracked so far up to the first pending record is done.
    public private(set) var committable: Int64?

    public init() {}

    /// Offsets read but not yet done.
    public var pendingCount: Int { done[head...].lazy.filter { !$0 }.count }

    /// Starts tracking `offset`, which must be higher than every offset tracked before.
    public mutating func track(_ offset: Int64) {
        precondition(offsets.last.map { offset > $0 } ?? true, "offsets must be tracked in increasing order")
        offsets.append(offset)
        done.append(false)
    }

    /// Marks `offset` done and advances ``committable`` over the contiguous done prefix.
    /// - Returns: Whether ``committable`` moved.
    @discardableResult
    public mutating func markDone(_ offset: Int64) -> Bool {
        guard let index = index(of: offset), !done[index] else { return false }
        done[index] = true
        let before = committable
        while head < offsets.count, done[head] {
            committable = offsets[head] + 1
            head += 1
        }
        if head > 1024, head * 2 > offsets.count {
            offsets.removeFirst(head)
            done.removeFirst(head)
            head = 0
        }
        return committable != before
    }

    private func index(of offset: Int64) -> Int? {
        var low = head
        var high = offsets.count
        while low < high {
            let mid = (low + high) / 2
            if offsets[mid] < offset { low = mid + 1 } else { high = mid }
        }
        return low < offsets.count && offsets[low] == offset ? low : nil
    }
}
