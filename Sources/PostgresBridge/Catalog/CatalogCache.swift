import Logging

/// Catalog facts per table, read once and read again when a message names a column the cached facts lack.
///
/// Concurrent requests for a table that is not cached yet share one catalog query. A refresh always runs a new
/// query (one started earlier may predate the `ALTER TABLE` the caller saw) and a result never replaces a newer one,
/// so the cache only moves forward. Failed loads are not cached: the next request tries again.
public actor CatalogCache {
    /// Reads one table's catalog facts.
    public typealias Loader = @Sendable (QualifiedTableName) async throws -> CatalogTable

    private enum State {
        case loading(Task<CatalogTable, any Error>)
        case loaded(CatalogTable)
    }

    private struct Entry {
        /// Which load produced (or is producing) this entry; later loads have higher numbers.
        var generation: UInt64
        var state: State
    }

    private let load: Loader
    /// The connection this cache opened itself, if it did; closed by ``close()``.
    private let ownConnection: ReconnectingConnection?
    private var entries: [QualifiedTableName: Entry] = [:]
    private var lastGeneration: UInt64 = 0
    /// How many catalog loads this cache started (for tests and metrics).
    public private(set) var loadCount = 0

    /// A cache that reads the catalog through `connection` (``PostgresConnection/catalogTable(_:)``).
    public init(connection: PostgresConnection) {
        self.load = { name in try await connection.catalogTable(name) }
        self.ownConnection = nil
    }

    /// A cache with its own connection, opened on first use and opened again after it was lost (server restart,
    /// network): a lookup that finds the connection gone reconnects once and retries. Call ``close()`` when done.
    ///
    /// - Parameters:
    ///   - configuration: Where the catalog is.
    ///   - logger: Receives a line per connect, close and reconnect.
    public init(configuration: PostgresConfiguration, logger: Logger) {
        let connection = ReconnectingConnection(configuration: configuration, logger: logger)
        self.load = { name in
            try await connection.withConnection { try await $0.catalogTable(name) }
        }
        self.ownConnection = connection
    }

    /// A cache over any loader, e.g. a fake in tests.
    public init(loader: @escaping Loader) {
        self.load = loader
        self.ownConnection = nil
    }

    /// Closes the connection this cache opened itself (``init(configuration:logger:)``); does nothing for a cache
    /// over a connection or loader it was given.
    public func close() async {
        await ownConnection?.close()
    }

    /// The table's catalog facts, from the cache or read now.
    ///
    /// - Throws: What the loader throws, e.g. a ``PostgresError`` with code ``PostgresError/Code/tableNotFound``.
    public func table(_ name: QualifiedTableName) async throws -> CatalogTable {
        if let entry = entries[name] {
            switch entry.state {
            case .loaded(let table):
                return table
            case .loading(let task):
                return try await task.value
            }
        }
        return try await startLoad(name)
    }

    /// The table's catalog facts, read again first if the cached ones lack any of `columnNames` (a column added
    /// since they were read). Refreshes at most once per call: if a column is still missing afterwards the caller
    /// gets the fresh facts and decides.
    ///
    /// - Throws: What the loader throws.
    public func table(
        _ name: QualifiedTableName,
        containing columnNames: some Sequence<String> & Sendable
    ) async throws -> CatalogTable {
        let cached = try await table(name)
        if columnNames.allSatisfy({ cached.column(named: $0) != nil }) {
            return cached
        }
        return try await refresh(name)
    }

    /// Reads the table's catalog facts again now and caches them.
    ///
    /// - Throws: What the loader throws; the previously cached facts stay until a refresh succeeds.
    @discardableResult
    public func refresh(_ name: QualifiedTableName) async throws -> CatalogTable {
        try await startLoad(name)
    }

    /// Forgets the table, so the next request reads the catalog.
    public func invalidate(_ name: QualifiedTableName) {
        entries[name] = nil
    }

    private func startLoad(_ name: QualifiedTableName) async throws -> CatalogTable {
        lastGeneration += 1
        loadCount += 1
        let generation = lastGeneration
        let load = self.load
        let task = Task { try await load(name) }
        if entries[name] == nil {
            entries[name] = Entry(generation: generation, state: .loading(task))
        }
        do {
            let table = try await task.value
            if (entries[name]?.generation ?? 0) <= generation {
                entries[name] = Entry(generation: generation, state: .loaded(table))
            }
            return table
        } catch {
            if let entry = entries[name], entry.generation == generation, case .loading = entry.state {
                entries[name] = nil
            }
            throw error
        }
    }
}
