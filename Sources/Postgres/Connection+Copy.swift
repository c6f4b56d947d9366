import CLibPQ
import Foundation

/// The format of a COPY stream.
public enum CopyFormat: Sendable {
    /// Tab-separated text; see `CopyInWriter.field` for escaping.
    case text
    /// PostgreSQL's binary COPY format; the writer writes the header and trailer.
    case binary
}

extension Connection {
    /// Streams rows into `COPY … FROM STDIN`; returns the number of rows the server stored.
    ///
    /// Rows are buffered and sent in blocks of about 256 KiB, so memory stays bounded however
    /// many rows are written. If `body` throws, the COPY is aborted and nothing is stored.
    @discardableResult
    public func copyIn(_ sql: String, format: CopyFormat = .text, _ body: (inout CopyInWriter) throws -> Void)
        throws -> Int
    {
        try sendQueued()
        let started = try checked(PQexec(handle, sql))
        guard PQresultStatus(started.raw) == PGRES_COPY_IN else {
            throw PostgresError(kind: .client, message: "copyIn needs a COPY … FROM STDIN statement")
        }
        var writer = CopyInWriter(connection: self, format: format)
        do {
            if format == .binary { writer.writeBinaryHeader() }
            try body(&writer)
            if format == .binary { writer.writeBinaryTrailer() }
            try writer.flush()
        } catch {
            _ = PQputCopyEnd(handle, "aborted by couponbatch")
            while let raw = PQgetResult(handle) { PQclear(raw) }
            throw error
        }
        guard PQputCopyEnd(handle, nil) == 1 else {
            let failure = lastError()
            while let raw = PQgetResult(handle) { PQclear(raw) }  // leave the connection usable
            throw failure
        }
        var outcome: Result<Int, PostgresError> = .success(0)
        while let raw = PQgetResult(handle) {
            let result = QueryResult(raw)
            if PQresultStatus(raw) == PGRES_COMMAND_OK {
                if case .success = outcome { outcome = .success(result.affectedRows) }
            } else if case .success = outcome {
                outcome = .failure(error(from: raw))
            }
        }
        return try outcome.get()
    }

    /// Streams the output of `COPY … TO STDOUT`, one row (text) or block at a time, in bounded memory.
    /// Returns the number of rows.
    @discardableResult
    public func copyOut(_ sql: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        try sendQueued()
        let started = try checked(PQexec(handle, sql))
        guard PQresultStatus(started.raw) == PGRES_COPY_OUT else {
            throw PostgresError(kind: .client, message: "copyOut needs a COPY … TO STDOUT statement")
        }
        var failure: (any Error)?
        while true {
            var buffer: UnsafeMutablePointer<CChar>?
            let length = PQgetCopyData(handle, &buffer, 0)
            if length > 0, let buffer {
                defer { PQfreemem(buffer) }
                if failure == nil {
                    do { try body(UnsafeRawBufferPointer(start: buffer, count: Int(length))) } catch {
                        failure = error
                        _ = PQrequestCancel(handle)
                    }
                }
            } else if length == -1 {
                break
            } else {
                failure = failure ?? lastError()
                break
            }
        }
        var rows = 0
        while let raw = PQgetResult(handle) {
            let result = QueryResult(raw)
            if PQresultStatus(raw) == PGRES_COMMAND_OK {
                rows = result.affectedRows
            } else if failure == nil {
                failure = error(from: raw)
            }
        }
        if let failure { throw failure }
        return rows
    }
}

/// Builds a COPY stream row by row into a buffer that is flushed to the server as it fills.
///
/// Text format: call `field(…)` for each column, then `endRow()`. Binary format: `beginRow(columns:)`
/// then one `field(…)` per column.
public struct CopyInWriter: ~Copyable {
    private let connection: Connection
    private let format: CopyFormat
    private var buffer: [UInt8] = []
    private var fieldsInRow = 0
    public private(set) var rowsWritten = 0
    static let flushThreshold = 256 * 1024

    init(connection: Connection, format: CopyFormat) {
        self.connection = connection
        self.format = format
        buffer.reserveCapacity(Self.flushThreshold + 4096)
    }

    // MARK: Text format

    private mutating func separator() {
        if fieldsInRow > 0 { buffer.append(0x09) }
        fieldsInRow += 1
    }

    public mutating func field(_ value: Int64) {
        if format == .binary {
            appendBigEndian(UInt32(8))
            appendBigEndian(UInt64(bitPattern: value))
            return
        }
        separator()
        appendDecimal(value)
    }

    public mutating func field(_ value: Int32) {
        if format == .binary {
            appendBigEndian(UInt32(4))
            appendBigEndian(UInt32(bitPattern: value))
            return
        }
        separator()
        appendDecimal(Int64(value))
    }

    public mutating func field(_ value: Bool) {
        if format == .binary {
            appendBigEndian(UInt32(1))
            buffer.append(value ? 1 : 0)
            return
        }
        separator()
        buffer.append(value ? UInt8(ascii: "t") : UInt8(ascii: "f"))
    }

    /// A text value, escaped for COPY; a NUL byte is refused rather than silently truncated.
    public mutating func field(_ value: String) throws(PostgresError) {
        if format == .binary {
            if value.utf8.contains(0) { throw nulByte() }
            appendBigEndian(UInt32(value.utf8.count))
            buffer.append(contentsOf: value.utf8)
            return
        }
        separator()
        // One pass: a NUL found half way aborts the whole COPY, so the half-written field is never sent.
        for byte in value.utf8 {
            switch byte {
            case 0x00: throw nulByte()
            case 0x5C: buffer.append(0x5C); buffer.append(0x5C)
            case 0x09: buffer.append(0x5C); buffer.append(UInt8(ascii: "t"))
            case 0x0A: buffer.append(0x5C); buffer.append(UInt8(ascii: "n"))
            case 0x0D: buffer.append(0x5C); buffer.append(UInt8(ascii: "r"))
            default: buffer.append(byte)
            }
        }
    }

    private func nulByte() -> PostgresError {
        PostgresError(kind: .client, message: "COPY row \(rowsWritten + 1) contains a NUL byte, which PostgreSQL cannot store")
    }

    /// Text that the caller promises needs no escaping (digits, ISO timestamps, fixed words).
    public mutating func rawField(_ value: String) {
        separator()
        buffer.append(contentsOf: value.utf8)
    }

    /// A timestamptz: UTC text in text format, microseconds since 2000-01-01 in binary format.
    public mutating func field(_ date: Date) {
        if format == .binary {
            let micros = Int64(((date.timeIntervalSince1970 - PostgresTime.secondsFrom1970To2000) * 1_000_000).rounded())
            appendBigEndian(UInt32(8))
            appendBigEndian(UInt64(bitPattern: micros))
            return
        }
        separator()
        buffer.append(contentsOf: PostgresTimestamp.format(date).utf8)
    }

    /// A text[] value in text format (elements quoted and escaped).
    public mutating func field(_ values: [String]) throws(PostgresError) {
        precondition(format == .text, "array fields are written in text format")
        try field(PostgresArrayLiteral.encode(values))
    }

    /// A timestamptz in binary format: microseconds since 2000-01-01 UTC.
    public mutating func timestampField(microsecondsSince2000 value: Int64) {
        precondition(format == .binary, "timestampField is for binary COPY; use rawField for text")
        appendBigEndian(UInt32(8))
        appendBigEndian(UInt64(bitPattern: value))
    }

    public mutating func null() {
        if format == .binary {
            appendBigEndian(UInt32(bitPattern: -1))
            return
        }
        separator()
        buffer.append(0x5C)
        buffer.append(UInt8(ascii: "N"))
    }

    /// Starts a row in binary format.
    public mutating func beginRow(columns: Int) {
        precondition(format == .binary, "beginRow is for binary COPY")
        appendBigEndian(UInt16(columns))
    }

    /// Ends a row; sends the buffer when it is full.
    public mutating func endRow() throws(PostgresError) {
        if format == .text { buffer.append(0x0A) }
        fieldsInRow = 0
        rowsWritten += 1
        if buffer.count >= Self.flushThreshold { try flush() }
    }

    /// Raw bytes, for callers that encode rows themselves.
    public mutating func write(_ bytes: some Sequence<UInt8>) throws(PostgresError) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= Self.flushThreshold { try flush() }
    }

    mutating func flush() throws(PostgresError) {
        guard !buffer.isEmpty else { return }
        let status = buffer.withUnsafeBufferPointer { pointer in
            pointer.withMemoryRebound(to: CChar.self) { chars in
                PQputCopyData(connection.handle, chars.baseAddress, Int32(chars.count))
            }
        }
        guard status == 1 else { throw connection.lastError() }
        buffer.removeAll(keepingCapacity: true)
    }

    mutating func writeBinaryHeader() {
        buffer.append(contentsOf: Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00])
        appendBigEndian(UInt32(0))  // flags
        appendBigEndian(UInt32(0))  // header extension length
    }

    mutating func writeBinaryTrailer() {
        appendBigEndian(UInt16(bitPattern: -1))
    }

    private mutating func appendDecimal(_ value: Int64) {
        if value == 0 { buffer.append(0x30); return }
        var magnitude = value.magnitude
        if value < 0 { buffer.append(UInt8(ascii: "-")) }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { raw in
            while magnitude > 0 {
                raw[count] = UInt8(magnitude % 10) + 0x30
                magnitude /= 10
                count += 1
            }
            for i in stride(from: count - 1, through: 0, by: -1) { buffer.append(raw[i]) }
        }
    }

    private mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.bigEndian) { buffer.append(contentsOf: $0) }
    }
}
