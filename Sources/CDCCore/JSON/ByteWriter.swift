/// Where canonical bytes are written: a `[UInt8]`, or a ``ByteWriter`` on the decoder's hot path.
///
/// The writers (`JCS`, `Temporal`, `DecimalText`, `Canonicalizer`, ...) are generic over it, so each is specialised
/// for both and written once.
protocol ByteSink {
    var count: Int { get }
    mutating func append(_ byte: UInt8)
    mutating func append<S: Sequence>(contentsOf bytes: S) where S.Element == UInt8
    mutating func reserveCapacity(_ minimumCapacity: Int)
}

extension Array: ByteSink where Element == UInt8 {}

/// A growable byte buffer written through a pointer, reused from one record to the next.
///
/// Why: every `Array.append` checks that the array is uniquely referenced (a runtime call) and has room; a
/// canonical row is ~100 small appends, and those checks were ~12% of a decode. Here an append is a bounds check
/// and a store. The memory is owned by ``Storage`` (freed in its `deinit`); `base` and `capacity` cache its
/// pointer and size. A writer must not be shared: its owner calls ``makeUnique()`` before writing (a copied
/// decoder then gets its own memory instead of writing into the other's).
struct ByteWriter: ByteSink, @unchecked Sendable {
    // @unchecked Sendable: the storage is only written by the one writer that holds the only reference to it
    // (`makeUnique()` before every use), so no two threads ever touch the same memory.
    final class Storage {
        var pointer: UnsafeMutablePointer<UInt8>
        var capacity: Int

        init(capacity: Int) {
            pointer = .allocate(capacity: capacity)
            self.capacity = capacity
        }

        deinit { pointer.deallocate() }
    }

    private var storage: Storage
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int = 1024) {
        storage = Storage(capacity: max(capacity, 16))
        base = storage.pointer
        self.capacity = storage.capacity
    }

    /// Empties the writer, and gives it memory of its own if a copy shares it.
    mutating func makeUnique() {
        count = 0
        if !isKnownUniquelyReferenced(&storage) {
            self = ByteWriter(capacity: capacity)
        }
    }

    /// The bytes written so far, as a new array.
    var bytes: [UInt8] {
        Array(UnsafeBufferPointer(start: base, count: count))
    }

    mutating func reserveCapacity(_ minimumCapacity: Int) {
        if minimumCapacity > capacity { grow(to: minimumCapacity) }
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        if count == capacity { grow(to: count + 1) }
        base[count] = byte
        count += 1
    }

    @inline(__always)
    mutating func append(contentsOf bytes: UnsafeBufferPointer<UInt8>) {
        let length = bytes.count
        guard length > 0, let source = bytes.baseAddress else { return }
        if capacity - count < length { grow(to: count + length) }
        (base + count).initialize(from: source, count: length)
        count += length
    }

    @inline(__always)
    mutating func append<S: Sequence>(contentsOf bytes: S) where S.Element == UInt8 {
        let copied: Void? = bytes.withContiguousStorageIfAvailable { append(contentsOf: $0) }
        if copied == nil {
            for byte in bytes { append(byte) }
        }
    }

    private mutating func grow(to minimumCapacity: Int) {
        let newCapacity = max(minimumCapacity, capacity * 2)
        let grown = Storage(capacity: newCapacity)
        grown.pointer.initialize(from: base, count: count)
        storage = grown
        base = grown.pointer
        capacity = newCapacity
    }
}
