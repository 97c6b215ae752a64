import CLibPQ

/// Owns one `PGresult`: the only holder of the pointer, `PQclear` in `deinit`.
///
/// Lives only inside one call on the connection's queue; the rows are copied out into Swift values before it goes.
final class LibPQResult {
    private let pointer: OpaquePointer

    init(pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        PQclear(pointer)
    }

    /// Copies the result into ``PostgresRows``, or throws the error it carries.
    func rows(connection: OpaquePointer, context: ErrorContext) throws -> PostgresRows {
        let status = PQresultStatus(pointer)
        switch status {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY, PGRES_SINGLE_TUPLE:
            break
        case PGRES_FATAL_ERROR, PGRES_NONFATAL_ERROR, PGRES_BAD_RESPONSE:
            throw PostgresError.libpq(.queryFailed, operation: "query failed on", connection: connection,
                                      result: pointer, context: context)
        default:
            throw PostgresError(
                code: .unexpectedResult,
                operation: "unsupported result from",
                message: "libpq result status \(String(cString: PQresStatus(status)))",
                hint: "COPY and pipelines are not supported by this bridge",
                target: context.target
            )
        }
        let fieldCount = Int(PQnfields(pointer))
        let rowCount = Int(PQntuples(pointer))
        var columns: [PostgresColumn] = []
        columns.reserveCapacity(fieldCount)
        for field in 0..<fieldCount {
            columns.append(
                PostgresColumn(
                    name: String(cString: PQfname(pointer, Int32(field))),
                    typeOID: PostgresTypeOID(rawValue: PQftype(pointer, Int32(field)))
                )
            )
        }
        var cells: [[String?]] = []
        cells.reserveCapacity(rowCount)
        for row in 0..<rowCount {
            var values: [String?] = []
            values.reserveCapacity(fieldCount)
            for field in 0..<fieldCount {
                if PQgetisnull(pointer, Int32(row), Int32(field)) != 0 {
                    values.append(nil)
                } else {
                    let length = Int(PQgetlength(pointer, Int32(row), Int32(field)))
                    let bytes = UnsafeRawPointer(PQgetvalue(pointer, Int32(row), Int32(field))!)
                    values.append(
                        String(decoding: UnsafeRawBufferPointer(start: bytes, count: length), as: UTF8.self)
                    )
                }
            }
            cells.append(values)
        }
        let tag = String(cString: PQcmdStatus(pointer))
        let tuples = String(cString: PQcmdTuples(pointer))
        return PostgresRows(columns: columns, cells: cells, commandTag: tag, affectedRows: Int(tuples))
    }
}
