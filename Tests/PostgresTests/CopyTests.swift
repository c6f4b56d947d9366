import Foundation
import Postgres
import TestSupport
import Testing

@Suite struct CopyTests {
    @Test func aMillionRowCopyRunsInBoundedMemory() throws {
        let db = try TestDatabase()
        let c = try db.connect()
        try c.execute("CREATE TABLE t (id bigint, note text, at timestamptz)")
        // 1M rows of ~150 bytes is ~150 MB of COPY text: buffering it all would show up plainly.
        let padding = String(repeating: "x", count: 120)
        let before = residentBytes()
        var peakDuring = before
        let start = Date(timeIntervalSince1970: 1_790_000_000)
        let stored = try c.copyIn("COPY t (id, note, at) FROM STDIN") { writer in
            for i in 0..<1_000_000 {
                writer.field(Int64(i))
                try writer.field(padding)
                writer.field(start.addingTimeInterval(Double(i)))
                try writer.endRow()
                if i % 100_000 == 0 { peakDuring = max(peakDuring, residentBytes()) }
            }
        }
        peakDuring = max(peakDuring, residentBytes())
        #expect(stored == 1_000_000)
        #expect(try c.query("SELECT count(*), max(id) FROM t").row(0).decode(1, as: Int64.self) == 999_999)
        let growth = peakDuring - before
        print("1M-row COPY: resident memory grew by \(growth / 1_048_576) MiB")
        #expect(growth < 48 * 1_048_576, "COPY buffered \(growth / 1_048_576) MiB; it should stream")
    }

    @Test func aBadRowFailsWithItsSQLSTATEAndLeavesNothingBehind() throws {
        let db = try TestDatabase()
        let c = try db.connect()
        try c.execute("CREATE TABLE t (id bigint, amount integer)")
        let error = #expect(throws: PostgresError.self) {
            try c.copyIn("COPY t (id, amount) FROM STDIN") { writer in
                for i in 0..<1000 {
                    writer.field(Int64(i))
                    if i == 500 { writer.rawField("not-a-number") } else { writer.field(Int64(i * 10)) }
                    try writer.endRow()
                }
            }
        }
        #expect(error?.code == .invalidTextRepresentation)
        #expect(error?.kind == .server)
        #expect(try c.query("SELECT count(*) FROM t").row(0).decode(0, as: Int.self) == 0)
        #expect(c.isOpen)
    }

    @Test func aThrowInsideTheWriterAbortsTheCopy() throws {
        let db = try TestDatabase()
        let c = try db.connect()
        try c.execute("CREATE TABLE t (v text)")
        #expect(throws: PostgresError.self) {
            try c.copyIn("COPY t FROM STDIN") { writer in
                try writer.field("fine")
                try writer.endRow()
                try writer.field("nul\u{0}inside")
                try writer.endRow()
            }
        }
        #expect(try c.query("SELECT count(*) FROM t").row(0).decode(0, as: Int.self) == 0)
    }

    @Test func textEscapingSurvivesTabsNewlinesAndBackslashes() throws {
        let db = try TestDatabase()
        let c = try db.connect()
        try c.execute("CREATE TABLE t (id int, v text, tags text[])")
        let values = ["a\tb", "line\nnext", "c:\\path", "\\N", "普通"]
        try c.copyIn("COPY t FROM STDIN") { writer in
            for (i, v) in values.enumerated() {
                writer.field(Int32(i))
                try writer.field(v)
                try writer.field([v, "x,y"])
                try writer.endRow()
            }
        }
        let rows = try c.query("SELECT v, tags FROM t ORDER BY id").rows
        #expect(try rows.map { try $0.decode("v", as: String.self) } == values)
        #expect(try rows.map { try $0.decode("tags", as: [String].self) } == values.map { [$0, "x,y"] })
    }

    @Test func binaryCopyWritesTheSameValues() throws {
        let db = try TestDatabase()
        let c = try db.connect()
        try c.execute("CREATE TABLE t (id bigint, n integer, ok boolean, v text, at timestamptz)")
        let at = Date(timeIntervalSince1970: 1_800_000_000.25)
        let stored = try c.copyIn("COPY t FROM STDIN (FORMAT binary)", format: .binary) { writer in
            for i in 0..<10_000 {
                writer.beginRow(columns: 5)
                writer.field(Int64(i) * 1_000_000_007)
                writer.field(Int32(-i))
                writer.field(i % 2 == 0)
                if i % 3 == 0 { writer.null() } else { try writer.field("值\(i)") }
                writer.field(at)
                try writer.endRow()
            }
        }
        #expect(stored == 10_000)
        let row = try c.query("SELECT * FROM t WHERE n = -7").row(0)
        #expect(try row.decode("id", as: Int64.self) == 7_000_000_049)
        #expect(try row.decode("ok", as: Bool.self) == false)
        #expect(try row.decode("v", as: String.self) == "值7")
        #expect(try row.decode("at", as: Date.self) == at)
        #expect(try c.query("SELECT count(*) FROM t WHERE v IS NULL").row(0).decode(0, as: Int.self) == 3334)
    }

    @Test func copyOutStreamsEveryRow() throws {
        let db = try TestDatabase()
        let c = try db.connect()
        var lines = 0
        var bytes = 0
        let rows = try c.copyOut("COPY (SELECT g, md5(g::text) FROM generate_series(1, 100000) g) TO STDOUT") { chunk in
            lines += chunk.filter { $0 == 0x0A }.count
            bytes += chunk.count
        }
        #expect(rows == 100_000)
        #expect(lines == 100_000)
        #expect(bytes > 100_000 * 34)
    }
}
