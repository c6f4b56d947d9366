import CLibPQ
import Foundation

/// The rows of one statement. Frees its libpq result on deinit.
public final class QueryResult {
    let raw: OpaquePointer

    init(_ raw: OpaquePointer) { self.raw = raw }
    deinit { PQclear(raw) }

    public var count: Int { Int(PQntuples(raw)) }
    public var isEmpty: Bool { count == 0 }

    /// Rows affected by INSERT/UPDATE/DELETE/COPY (0 when not reported).
    public var affectedRows: Int { Int(String(cString: PQcmdTuples(raw))) ?? 0 }

    public var columnNames: [String] {
        (0..<PQnfields(raw)).map { String(cString: PQfname(raw, $0)) }
    }

    public func row(_ index: Int) -> Row { Row(result: self, index: Int32(index)) }

    public var rows: [Row] { (0..<count).map(row) }

    public var first: Row? { isEmpty ? nil : row(0) }

    func columnIndex(_ name: String) -> Int32? {
        let index = PQfnumber(raw, name)
        return index < 0 ? nil : index
    }
}

/// One row of a `QueryResult`.
public struct Row {
    let result: QueryResult
    let index: Int32

    /// The column's text, or nil for NULL.
    public func text(_ column: Int) -> String? {
        let col = Int32(column)
        if PQgetisnull(result.raw, index, col) == 1 { return nil }
        return String(cString: PQgetvalue(result.raw, index, col))
    }

    /// The column's text as the bytes libpq holds (valid only inside `body`), or nil for NULL.
    /// For large values passed on as they are (no String made, nothing copied).
    public func withBytes<R>(_ column: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R? {
        let col = Int32(column)
        if PQgetisnull(result.raw, index, col) == 1 { return nil }
        guard let value = PQgetvalue(result.raw, index, col) else { return nil }
        return try body(UnsafeRawBufferPointer(start: value, count: Int(PQgetlength(result.raw, index, col))))
    }

    /// A column of a binary result (`Connection.query(_:_:binaryResults:)`) holding a smallint,
    /// integer or bigint, or a date (days since 2000-01-01) or timestamptz (microseconds since
    /// 2000-01-01 UTC) as PostgreSQL counts them; nil for NULL.
    public func binaryInteger(_ column: Int) throws(PostgresError) -> Int64? {
        let col = Int32(column)
        if PQgetisnull(result.raw, index, col) == 1 { return nil }
        guard PQfformat(result.raw, col) == 1, let value = PQgetvalue(result.raw, index, col) else {
            throw PostgresError(kind: .decoding, message: "column \(name(column)) is not in binary form")
        }
        let bytes = UnsafeRawBufferPointer(start: value, count: Int(PQgetlength(result.raw, index, col)))
        // Network byte order, sign-extended from the value's own width.
        switch bytes.count {
        case 2: return Int64(Int16(bigEndian: bytes.loadUnaligned(as: Int16.self)))
        case 4: return Int64(Int32(bigEndian: bytes.loadUnaligned(as: Int32.self)))
        case 8: return Int64(bigEndian: bytes.loadUnaligned(as: Int64.self))
        default:
            throw PostgresError(kind: .decoding, message: "column \(name(column)) is \(bytes.count) bytes, not an integer")
        }
    }

    public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws(PostgresError) -> T {
        guard let value = try decodeIfPresent(column, as: type) else {
            throw PostgresError(kind: .decoding, message: "column \"\(column)\" is NULL, expected \(T.self)")
        }
        return value
    }

    public func decodeIfPresent<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self)
        throws(PostgresError) -> T?
    {
        guard let col = result.columnIndex(column) else {
            throw PostgresError(kind: .decoding, message: "no column \"\(column)\" in the result")
        }
        return try decodeIfPresent(Int(col), as: type)
    }

    public func decode<T: PostgresDecodable>(_ column: Int, as type: T.Type = T.self) throws(PostgresError) -> T {
        guard let value = try decodeIfPresent(column, as: type) else {
            throw PostgresError(kind: .decoding, message: "column \(name(column)) is NULL, expected \(T.self)")
        }
        return value
    }

    public func decodeIfPresent<T: PostgresDecodable>(_ column: Int, as type: T.Type = T.self)
        throws(PostgresError) -> T?
    {
        guard column >= 0, column < Int(PQnfields(result.raw)) else {
            throw PostgresError(kind: .decoding, message: "no column \(column) in the result")
        }
        guard let text = text(column) else { return nil }
        do {
            return try T(postgresText: text)
        } catch {
            throw PostgresError(
                kind: .decoding, message: "column \(name(column)) does not decode as \(T.self): \(error.reason)",
                column: String(cString: PQfname(result.raw, Int32(column))))
        }
    }

    private func name(_ column: Int) -> String {
        "\"\(String(cString: PQfname(result.raw, Int32(column))))\""
    }
}
