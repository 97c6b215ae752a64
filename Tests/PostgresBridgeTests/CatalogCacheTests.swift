import PostgresBridge
import Synchronization
import Testing

/// A loader whose table grows columns on demand, counting how often it is asked.
private final class FakeCatalog: Sendable {
    private let state = Mutex<(columns: [String], calls: Int, failuresLeft: Int)>(([], 0, 0))

    init(columns: [String], failuresLeft: Int = 0) {
        state.withLock { $0 = (columns, 0, failuresLeft) }
    }

    var calls: Int { state.withLock { $0.calls } }

    func addColumn(_ name: String) {
        state.withLock { $0.columns.append(name) }
    }

    func load(_ name: QualifiedTableName) throws -> CatalogTable {
        let (columns, fail) = state.withLock { state -> ([String], Bool) in
            state.calls += 1
            if state.failuresLeft > 0 {
                state.failuresLeft -= 1
                return ([], true)
            }
            return (state.columns, false)
        }
        if fail {
            throw PostgresError(code: .connectionClosed, operation: "cannot read the catalog of \(name) on",
                                message: "connection lost", target: "h:1/d")
        }
        return CatalogTable(
            name: name,
            replicaIdentity: .default,
            columns: columns.enumerated().map { index, column in
                CatalogColumn(name: column, ordinal: index + 1, typeName: "text", typeOID: .text,
                              typeCategory: "S", isNotNull: false, primaryKeyPosition: nil)
            }
        )
    }
}

@Suite struct CatalogCacheTests {
    let products = QualifiedTableName(schema: "public", table: "products")

    @Test(.timeLimit(.minutes(1))) func concurrentRequestsLoadOnce() async throws {
        let fake = FakeCatalog(columns: ["id", "name"])
        let cache = CatalogCache(loader: { try fake.load($0) })
        let products = self.products
        let tables = try await withThrowingTaskGroup(of: CatalogTable.self) { group in
            for _ in 0..<20 {
                group.addTask { try await cache.table(products) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(tables.count == 20)
        #expect(tables.allSatisfy { $0.columns.map(\.name) == ["id", "name"] })
        #expect(fake.calls == 1)
        #expect(await cache.loadCount == 1)
    }

    @Test func unknownColumnRefreshesOnce() async throws {
        let fake = FakeCatalog(columns: ["id"])
        let cache = CatalogCache(loader: { try fake.load($0) })
        _ = try await cache.table(products)
        fake.addColumn("added_later")

        let known = try await cache.table(products, containing: ["id"])
        #expect(known.column(named: "added_later") == nil)
        #expect(fake.calls == 1)

        let refreshed = try await cache.table(products, containing: ["id", "added_later"])
        #expect(refreshed.column(named: "added_later")?.ordinal == 2)
        #expect(fake.calls == 2)

        // Now cached: no more loads.
        _ = try await cache.table(products, containing: ["added_later"])
        #expect(fake.calls == 2)

        // Still missing after one refresh: the caller gets the fresh facts and decides.
        let stillMissing = try await cache.table(products, containing: ["never_there"])
        #expect(stillMissing.column(named: "never_there") == nil)
        #expect(fake.calls == 3)
    }

    @Test func failedLoadsAreNotCached() async throws {
        let fake = FakeCatalog(columns: ["id"], failuresLeft: 1)
        let cache = CatalogCache(loader: { try fake.load($0) })
        let error = await #expect(throws: PostgresError.self) { try await cache.table(products) }
        #expect(error?.code == .connectionClosed)
        let table = try await cache.table(products)
        #expect(table.columns.map(\.name) == ["id"])
        #expect(fake.calls == 2)
    }

    @Test func tablesAreCachedSeparatelyAndCanBeInvalidated() async throws {
        let fake = FakeCatalog(columns: ["id"])
        let cache = CatalogCache(loader: { try fake.load($0) })
        let other = QualifiedTableName(schema: "sales", table: "products")
        #expect(try await cache.table(products).name == products)
        #expect(try await cache.table(other).name == other)
        #expect(fake.calls == 2)
        await cache.invalidate(products)
        _ = try await cache.table(products)
        _ = try await cache.table(other)
        #expect(fake.calls == 3)
    }
}

@Suite struct CatalogTableTests {
    @Test func primaryKeyFollowsKeyOrderNotColumnOrder() {
        func column(_ name: String, _ ordinal: Int, pk: Int?) -> CatalogColumn {
            CatalogColumn(name: name, ordinal: ordinal, typeName: "integer", typeOID: .int4, typeCategory: "N",
                          isNotNull: pk != nil, primaryKeyPosition: pk)
        }
        let table = CatalogTable(
            name: QualifiedTableName(schema: "public", table: "order_lines"),
            replicaIdentity: .full,
            columns: [column("order_id", 1, pk: 2), column("note", 2, pk: nil), column("line_no", 3, pk: 1)]
        )
        #expect(table.primaryKey == ["line_no", "order_id"])
        #expect(table.replicaIdentity.description == "full")
        #expect(table.name.description == "public.order_lines")
    }
}
