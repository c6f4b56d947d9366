import Foundation
import Postgres
import TestSupport
import Testing

@Suite struct ParameterAndDecodingTests {
    @Test func nullsRoundTripAndDecodeAsNil() throws {
        let db = try TestDatabase()
        let c = try db.connect()
        try c.execute("CREATE TABLE t (a bigint, b text, c timestamptz)")
        let none: Int64? = nil
        let noText: String? = nil
        try c.execute("INSERT INTO t VALUES ($1, $2, $3)", [none, noText, Date?.none])
        let row = try c.query("SELECT a, b, c, a IS NULL AS a_null FROM t").row(0)
        #expect(try row.decodeIfPresent("a", as: Int64.self) == nil)
        #expect(try row.decodeIfPresent("b", as: String.self) == nil)
        #expect(try row.decodeIfPresent("c", as: Date.self) == nil)
        #expect(try row.decode("a_null", as: Bool.self))
        // A NULL where a value is required names the column.
        let error = #expect(throws: PostgresError.self) { try row.decode("a", as: Int64.self) }
        #expect(error?.kind == .decoding)
        #expect(error?.message.contains("\"a\"") == true)
    }

    @Test(arguments: [
        "O'Brien", "say \"hi\"", "back\\slash", "tab\there", "line\nbreak", "满2000减300", "emoji 🎟️",
        "'; DROP TABLE t; --", "$1", "",
    ])
    func textWithQuotesAndUnicodeRoundTripsExactly(_ value: String) throws {
        let db = try TestDatabase()
        let c = try db.connect()
        try c.execute("CREATE TABLE t (v text)")
        try c.execute("INSERT INTO t VALUES ($1)", [value])
        let back = try c.query("SELECT v, length(v) AS n FROM t").row(0)
        #expect(try back.decode("v", as: String.self) == value)
        #expect(try back.decode("n", as: Int.self) == value.unicodeScalars.count)
        #expect(try c.query("SELECT count(*) FROM t").row(0).decode(0, as: Int.self) == 1)
    }

    @Test func aNulByteIsRefusedClearlyAndNothingIsWritten() throws {
        let db = try TestDatabase()
        let c = try db.connect()
        try c.execute("CREATE TABLE t (v text)")
        let error = #expect(throws: PostgresError.self) {
            try c.execute("INSERT INTO t VALUES ($1)", ["before\u{0}after"])
        }
        #expect(error?.kind == .client)
        #expect(error?.message.contains("$1") == true)
        #expect(error?.message.contains("NUL") == true)
        #expect(try c.query("SELECT count(*) FROM t").row(0).decode(0, as: Int.self) == 0)
    }

    @Test(arguments: ["UTC", "Asia/Shanghai", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"])
    func timestamptzRoundTripsInSeveralZones(_ zone: String) throws {
        let db = try TestDatabase()
        let c = try db.connect()
        let instant = Date(timeIntervalSince1970: 1_793_000_000.123456)
        // The server renders the instant in the zone; reading it back as timestamptz is the same instant.
        let row = try c.query(
            """
            SELECT $1::timestamptz AS t,
                   to_char($1::timestamptz AT TIME ZONE $2, 'YYYY-MM-DD HH24:MI:SS.US') AS local_text,
                   (to_char($1::timestamptz AT TIME ZONE $2, 'YYYY-MM-DD HH24:MI:SS.US')::timestamp AT TIME ZONE $2) AS back
            """, [instant, zone]
        ).row(0)
        let t = try row.decode("t", as: Date.self)
        let back = try row.decode("back", as: Date.self)
        #expect(abs(t.timeIntervalSince(instant)) < 0.000_001)
        #expect(abs(back.timeIntervalSince(instant)) < 0.000_001)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = try #require(TimeZone(identifier: zone))
        let parts = calendar.dateComponents([.hour, .minute], from: instant)
        let localText = try row.decode("local_text", as: String.self)
        let expectedClock = String(format: "%02d:%02d", parts.hour ?? -1, parts.minute ?? -1)
        #expect(localText.contains(" \(expectedClock):"))
    }

    @Test func timestampsWithOffsetsFromOtherSessionsDecodeToTheSameInstant() throws {
        let db = try TestDatabase()
        let c = try db.connect()
        let row = try c.query(
            "SELECT '2026-03-08 01:59:59.5-05'::timestamptz AS a, '2026-11-01 01:30:00+05:45'::timestamptz AS b"
        ).row(0)
        #expect(try row.decode("a", as: Date.self).timeIntervalSince1970 == 1_772_953_199.5)
        #expect(try row.decode("b", as: Date.self).timeIntervalSince1970 == 1_793_475_900)
    }

    @Test func textArraysRoundTripWithAwkwardElements() throws {
        let db = try TestDatabase()
        let c = try db.connect()
        let tags = ["plain", "with space", "comma,inside", "quote\"d", "back\\slash", "NULL", "{brace}", "会员"]
        let row = try c.query("SELECT $1::text[] AS tags, cardinality($1::text[]) AS n", [tags]).row(0)
        #expect(try row.decode("tags", as: [String].self) == tags)
        #expect(try row.decode("n", as: Int.self) == tags.count)
        let ids: [Int64] = [1, -2, 9_000_000_000]
        #expect(try c.query("SELECT $1::bigint[]", [ids]).row(0).decode(0, as: [Int64].self) == ids)
        #expect(try c.query("SELECT '{}'::text[]").row(0).decode(0, as: [String].self) == [])
    }

    struct Spec: Codable, Equatable {
        var type: String
        var offFen: Int64
        var stores: [String]
    }

    @Test func jsonbDecodesIntoACodableValue() throws {
        let db = try TestDatabase()
        let c = try db.connect()
        let spec = Spec(type: "cash", offFen: 1500, stores: ["SH-001", "北京"])
        let row = try c.query("SELECT $1::jsonb AS spec, ($1::jsonb)->>'offFen' AS off", [PostgresJSON(spec)]).row(0)
        #expect(try row.decode("spec", as: PostgresJSON<Spec>.self).value == spec)
        #expect(try row.decode("off", as: String.self) == "1500")
    }

    @Test func aValueOfTheWrongTypeNamesTheColumn() throws {
        let db = try TestDatabase()
        let c = try db.connect()
        let row = try c.query("SELECT 'abc'::text AS code, 3000000000::bigint AS big").row(0)
        let notNumber = #expect(throws: PostgresError.self) { try row.decode("code", as: Int64.self) }
        #expect(notNumber?.message.contains("\"code\"") == true)
        #expect(notNumber?.column == "code")
        let tooBig = #expect(throws: PostgresError.self) { try row.decode("big", as: Int32.self) }
        #expect(tooBig?.message.contains("\"big\"") == true)
        #expect(throws: PostgresError.self) { try row.decode("missing", as: Int64.self) }
    }

    @Test func integersDoublesAndBooleansDecode() throws {
        let db = try TestDatabase()
        let c = try db.connect()
        let row = try c.query(
            "SELECT $1::bigint AS a, $2::int AS b, $3::float8 AS d, $4::bool AS t, 'NaN'::float8 AS nan",
            [Int64.max, Int32.min, 0.1, true]
        ).row(0)
        #expect(try row.decode("a", as: Int64.self) == Int64.max)
        #expect(try row.decode("b", as: Int32.self) == Int32.min)
        #expect(try row.decode("d", as: Double.self) == 0.1)
        #expect(try row.decode("t", as: Bool.self))
        #expect(try row.decode("nan", as: Double.self).isNaN)
    }

    @Test func binaryResultsDecodeIntegersDatesAndInstants() throws {
        let db = try TestDatabase()
        let c = try db.connect()
        let sql = """
            SELECT (-7)::smallint, $1::int, $2::bigint, date '1969-12-31', $3::timestamptz, NULL::bigint,
                   'infinity'::timestamptz, '-infinity'::timestamptz
            """
        let instant = Date(timeIntervalSince1970: 1_795_000_000.123456)
        let row = try c.query(sql, [Int32.min, Int64.max, instant], binaryResults: true).row(0)
        #expect(try row.binaryInteger(0) == -7)
        #expect(try row.binaryInteger(1) == Int64(Int32.min))
        #expect(try row.binaryInteger(2) == Int64.max)
        // A date counts days from 2000-01-01: the day before 1970 is day -1 counted from 1970.
        #expect(try row.binaryInteger(3).map { Int($0) + PostgresTime.daysFrom1970To2000 } == -1)
        let micros = try #require(try row.binaryInteger(4))
        #expect(abs(PostgresTime.date(microsecondsSince2000: micros).timeIntervalSince(instant)) < 0.000_001)
        #expect(try row.binaryInteger(5) == nil)
        #expect(try row.binaryInteger(6).map(PostgresTime.date(microsecondsSince2000:)) == .distantFuture)
        #expect(try row.binaryInteger(7).map(PostgresTime.date(microsecondsSince2000:)) == .distantPast)
        // Through a pipeline too, and a text result is refused rather than misread.
        c.sendWithNext("SET application_name = 'binary-test'")
        #expect(try c.query("SELECT 42::int", binaryResults: true).row(0).binaryInteger(0) == 42)
        let text = try c.query("SELECT 42::int").row(0)
        let refused = #expect(throws: PostgresError.self) { try text.binaryInteger(0) }
        #expect(refused?.message.contains("binary") == true)
    }

    @Test func rowsStreamOneAtATime() throws {
        let db = try TestDatabase()
        let c = try db.connect()
        var seen: [Int64] = []
        try c.forEachRow("SELECT g FROM generate_series(1, $1::int) g", [5000]) { row in
            seen.append(try row.decode(0, as: Int64.self))
        }
        #expect(seen.count == 5000)
        #expect(seen.first == 1 && seen.last == 5000)
        // The connection is usable afterwards.
        #expect(try c.query("SELECT 7").row(0).decode(0, as: Int.self) == 7)
    }
}
