import PostgresBridge

/// The SQL `certyo-cdc setup` installs (or prints) and the statements the listener and poller run.
///
/// Everything certyo-cdc creates lives in one schema (``schema``, default `public`) under names that start with
/// `_certyo_`; every statement is idempotent, so running setup again is harmless.
public struct CaptureSQL: Sendable {
    /// The schema of the outbox, cursor and dead-letter tables and of the trigger function. Default: `public`.
    public var schema: String

    public init(schema: String = "public") {
        self.schema = schema
    }

    /// The channel the trigger notifies and the listener `LISTEN`s on.
    public static let channel = "certyo_outbox"

    var outbox: String { "\(Self.quote(schema))._certyo_outbox" }
    var cursors: String { "\(Self.quote(schema))._certyo_sync_cursors" }
    var deadLetters: String { "\(Self.quote(schema))._certyo_dead_letters" }
    var captureFunction: String { "\(Self.quote(schema))._certyo_capture" }

    /// `"name"`, with embedded quotes doubled.
    public static func quote(_ identifier: String) -> String {
        "\"" + identifier.replacing("\"", with: "\"\"") + "\""
    }

    /// `"schema"."table"`.
    public static func quote(_ table: QualifiedTableName) -> String {
        "\(quote(table.schema)).\(quote(table.table))"
    }

    /// A SQL string literal (standard_conforming_strings: only `'` is special).
    static func literal(_ text: String) -> String {
        "'" + text.replacing("'", with: "''") + "'"
    }

    /// The dead-letter table: one row per change certyo-cdc will not send, with the fields of the Kafka dead-letter
    /// headers (`certyo.dlq.*`): where it came from, the reason code, one line for a person, Certyo's HTTP status and
    /// error code, and the change itself (its record id and the row as captured).
    public var deadLetterTableSQL: String {
        """
        CREATE TABLE IF NOT EXISTS \(deadLetters) (
            id              bigserial PRIMARY KEY,
            created_at      timestamptz NOT NULL DEFAULT now(),
            source_mode     text NOT NULL,         -- listen | poll
            source_table    text NOT NULL,         -- schema.table
            source_position text NOT NULL,         -- outbox id (listen) or row version (poll)
            reason          text NOT NULL,         -- invalid_record, idempotency_conflict, invalid_value, ...
            message         text NOT NULL,
            http_status     integer,
            error_code      text,
            record_id       text,
            key             text,                  -- the change's key as captured
            value           text                   -- the row as captured (PostgreSQL record text)
        );
        """
    }

    /// The listener's outbox, its trigger function, and one trigger per table.
    ///
    /// The trigger function runs with pinned output settings (`TimeZone=UTC`, `DateStyle=ISO`,
    /// `IntervalStyle=iso_8601`, `extra_float_digits=3`, `bytea_output=hex`, `lc_monetary=C`), so `NEW::text`
    /// prints each value exactly as a canonical-settings `SELECT` does. An update that changes only `certyo_*`
    /// columns (or nothing) records nothing. `NOTIFY` carries no data: it only wakes the listener.
    public func listenSetupSQL(tables: [QualifiedTableName]) -> String {
        var sql = """
            CREATE TABLE IF NOT EXISTS \(outbox) (
                id           bigserial PRIMARY KEY,
                table_schema text NOT NULL,
                table_name   text NOT NULL,
                op           text NOT NULL CHECK (op IN ('c', 'u', 'd')),
                row_text     text NOT NULL,        -- NEW::text (OLD::text for a delete)
                old_row_text text,                 -- OLD::text of an update (a primary-key change)
                captured_at  timestamptz NOT NULL DEFAULT now()
            );

            \(deadLetterTableSQL)

            CREATE OR REPLACE FUNCTION \(captureFunction)() RETURNS trigger
            LANGUAGE plpgsql
            SET TimeZone = 'UTC' SET DateStyle = 'ISO' SET IntervalStyle = 'iso_8601'
            SET extra_float_digits = 3 SET bytea_output = 'hex' SET lc_monetary = 'C'
            AS $certyo$
            BEGIN
                IF TG_OP = 'UPDATE' THEN
                    -- Only certyo_* columns changed (or nothing): the canonical row is the same, record nothing.
                    IF (SELECT coalesce(jsonb_object_agg(key, value), '{}') FROM jsonb_each(to_jsonb(NEW))
                            WHERE key NOT LIKE 'certyo\\_%')
                       IS NOT DISTINCT FROM
                       (SELECT coalesce(jsonb_object_agg(key, value), '{}') FROM jsonb_each(to_jsonb(OLD))
                            WHERE key NOT LIKE 'certyo\\_%') THEN
                        RETURN NULL;
                    END IF;
                    INSERT INTO \(outbox) (table_schema, table_name, op, row_text, old_row_text)
                        VALUES (TG_TABLE_SCHEMA, TG_TABLE_NAME, 'u', NEW::text, OLD::text);
                ELSIF TG_OP = 'INSERT' THEN
                    INSERT INTO \(outbox) (table_schema, table_name, op, row_text)
                        VALUES (TG_TABLE_SCHEMA, TG_TABLE_NAME, 'c', NEW::text);
                ELSE
                    INSERT INTO \(outbox) (table_schema, table_name, op, row_text)
                        VALUES (TG_TABLE_SCHEMA, TG_TABLE_NAME, 'd', OLD::text);
                END IF;
                PERFORM pg_notify(\(Self.literal(Self.channel)), TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME);
                RETURN NULL;
            END
            $certyo$;

            """
        for table in tables {
            sql += """

                CREATE OR REPLACE TRIGGER _certyo_capture
                    AFTER INSERT OR UPDATE OR DELETE ON \(Self.quote(table))
                    FOR EACH ROW EXECUTE FUNCTION \(captureFunction)();

                """
        }
        return sql
    }

    /// The poller's cursor table (and the dead-letter table). `index` adds the recommended keyset index as a
    /// comment for each table.
    public func pollSetupSQL(tables: [QualifiedTableName], column: String, primaryKeys: [QualifiedTableName: [String]])
        -> String
    {
        var sql = """
            CREATE TABLE IF NOT EXISTS \(cursors) (
                source       text PRIMARY KEY,     -- schema.table:column
                last_version text NOT NULL,        -- the version column of the last row sent (text output)
                last_key     text[] NOT NULL,      -- its primary key values (text output)
                updated_at   timestamptz NOT NULL DEFAULT now()
            );

            \(deadLetterTableSQL)

            """
        for table in tables {
            let key = (primaryKeys[table] ?? []).map(Self.quote).joined(separator: ", ")
            sql += """

                -- Recommended for \(table) (keyset pagination on (\(column), primary key)); build it when convenient:
                -- CREATE INDEX CONCURRENTLY IF NOT EXISTS \(Self.quote("_certyo_poll_" + table.table))
                --     ON \(Self.quote(table)) (\(Self.quote(column)), \(key));

                """
        }
        return sql
    }
}
