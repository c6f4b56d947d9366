import Foundation

/// One record of a CSV file: its fields and the line it starts on (1 is the header).
public struct CSVRecord: Sendable, Equatable {
    public let line: Int
    public let fields: [String]

    public init(line: Int, fields: [String]) {
        self.line = line
        self.fields = fields
    }
}

/// Reads a CSV file (RFC 4180: commas, `"` quoting with `""` inside, CRLF or LF) one record at a
/// time, in bounded memory: a merchant's nightly export may hold millions of rows.
///
/// A UTF-8 byte order mark is skipped (spreadsheets write one). Blank lines are skipped. A
/// quoted field may span lines; the record keeps the line it started on.
///
/// Owns an open file, so it is a class; it is used by one thread at a time.
public final class CSVReader {
    public let path: String
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var position = 0
    private var atEnd = false
    private var line = 1
    private static let blockSize = 1 << 20

    public init(path: String) throws(InputError) {
        self.path = path
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw InputError("\(path): cannot open the file for reading")
        }
        self.handle = handle
        fill()
        if buffer.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3 }
    }

    deinit { try? handle.close() }

    /// The next record, or nil at the end of the file.
    public func next() throws(InputError) -> CSVRecord? {
        while true {
            guard let first = peek() else { return nil }
            if first == 0x0A || first == 0x0D {
                consumeNewline()
                continue
            }
            break
        }
        let startLine = line
        var fields: [String] = []
        var field: [UInt8] = []
        var quoted = false
        var fieldStarted = false
        while let byte = peek() {
            if quoted {
                advance()
                if byte == 0x22 {
                    if peek() == 0x22 {
                        field.append(0x22)
                        advance()
                    } else {
                        quoted = false
                    }
                } else {
                    if byte == 0x0A { line += 1 }
                    field.append(byte)
                }
                continue
            }
            switch byte {
            case 0x2C:
                advance()
                fields.append(try text(field, startLine))
                field.removeAll(keepingCapacity: true)
                fieldStarted = false
            case 0x0A, 0x0D:
                consumeNewline()
                fields.append(try text(field, startLine))
                return CSVRecord(line: startLine, fields: fields)
            case 0x22 where !fieldStarted && field.isEmpty:
                advance()
                quoted = true
                fieldStarted = true
            default:
                advance()
                field.append(byte)
                fieldStarted = true
            }
        }
        if quoted {
            throw InputError("\(path):\(startLine): a quoted field is not closed before the end of the file")
        }
        fields.append(try text(field, startLine))
        return CSVRecord(line: startLine, fields: fields)
    }

    private func text(_ bytes: [UInt8], _ line: Int) throws(InputError) -> String {
        // Most fields are ASCII, which is valid UTF-8 as it stands: skip the generic validation.
        if !bytes.contains(where: { $0 >= 0x80 }) { return String(decoding: bytes, as: UTF8.self) }
        guard let string = String(validating: bytes, as: UTF8.self) else {
            throw InputError("\(path):\(line): the file is not UTF-8 text")
        }
        return string
    }

    private func peek() -> UInt8? {
        if position >= buffer.count {
            if atEnd { return nil }
            fill()
            if position >= buffer.count { return nil }
        }
        return buffer[position]
    }

    private func advance() { position += 1 }

    /// Consumes LF, CR or CRLF and counts one line.
    private func consumeNewline() {
        if peek() == 0x0D {
            advance()
            if peek() == 0x0A { advance() }
        } else {
            advance()
        }
        line += 1
    }

    private func fill() {
        let data = (try? handle.read(upToCount: Self.blockSize)) ?? nil
        guard let data, !data.isEmpty else {
            atEnd = true
            buffer.removeAll(keepingCapacity: true)
            position = 0
            return
        }
        buffer = [UInt8](data)
        position = 0
    }
}

/// Writes CSV fields, quoted when they need it.
public enum CSVText {
    public static func field(_ value: String) -> String {
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    public static func line(_ fields: [String]) -> String {
        fields.map(field).joined(separator: ",") + "\n"
    }
}
