import Foundation
import Testing

@testable import CouponKit

@Suite("Definition reader")
struct DefinitionReaderTests {
    /// Reads `value:`'s node of a one-line document with `read`, returning the result and errors.
    func read<T>(_ yaml: String, _ read: (DefinitionReader) -> T?) throws -> (T?, [String]) {
        let diagnostics = DefinitionDiagnostics()
        guard case .document(let root) = DefinitionDocument.compose(yaml, file: "t.yaml", diagnostics: diagnostics),
            let value = root.mapping()?.value("value")
        else {
            Issue.record("could not compose \(yaml): \(diagnostics.errors)")
            return (nil, [])
        }
        return (read(value), diagnostics.errors.map(\.description))
    }

    @Test(arguments: [
        ("value: 42", Int64(42)), ("value: -7", -7), ("value: +3", 3), ("value: 1_000_000", 1_000_000), ("value: 0", 0),
        ("value: 9223372036854775807", Int64.max),
    ])
    func integersReadInDecimal(yaml: String, expected: Int64) throws {
        let (value, errors) = try read(yaml) { $0.integer() }
        #expect(value == expected)
        #expect(errors.isEmpty)
    }

    @Test(arguments: [
        ("value: 010", "t.yaml:1:8: value: expected a decimal integer, got 010"),
        ("value: 0x1F", "t.yaml:1:8: value: expected a decimal integer, got 0x1F"),
        ("value: 1:30", "t.yaml:1:8: value: expected a decimal integer, got 1:30"),
        ("value: '5'", "t.yaml:1:8: value: expected an integer, got \"5\""),
        ("value: 2.0", "t.yaml:1:8: value: expected an integer, got 2.0"),
        ("value: true", "t.yaml:1:8: value: expected an integer, got true"),
        ("value: ~", "t.yaml:1:8: value: expected an integer, got null"),
        ("value: {a: 1}", "t.yaml:1:8: value: expected an integer, got a mapping"),
        ("value: 9223372036854775808", "t.yaml:1:8: value: integer 9223372036854775808 is out of range"),
    ])
    func integersRefuseEverythingElse(yaml: String, error: String) throws {
        let (value, errors) = try read(yaml) { $0.integer() }
        #expect(value == nil)
        #expect(errors == [error])
    }

    @Test func stringsKeepTheTextAsWritten() throws {
        let (plain, _) = try read("value: 001") { $0.string() }
        let (date, _) = try read("value: 2026-01-01") { $0.string() }
        let (word, _) = try read("value: no") { $0.string() }
        #expect(plain == "001")
        #expect(date == "2026-01-01")
        #expect(word == "no")
        let (list, errors) = try read("value: [a]") { $0.string() }
        #expect(list == nil)
        #expect(errors == ["t.yaml:1:8: value: expected a string, got a list"])
    }

    @Test(arguments: [("value: true", true), ("value: false", false), ("value: True", true)])
    func booleansAreTrueOrFalse(yaml: String, expected: Bool) throws {
        let (value, errors) = try read(yaml) { $0.bool() }
        #expect(value == expected)
        #expect(errors.isEmpty)
    }

    @Test(arguments: ["on", "off", "yes", "no", "1", "'true'"])
    func booleansRefuseYAML11Words(word: String) throws {
        let (value, errors) = try read("value: \(word)") { $0.bool() }
        #expect(value == nil)
        #expect(errors.count == 1)
        #expect(errors.first?.hasPrefix("t.yaml:1:8: value: expected true or false, got ") == true)
    }

    @Test(arguments: [
        ("90s", 90), ("15m", 900), ("1h", 3600), ("2d", 172_800), ("1h30m", 5400), ("1d1s", 86401), ("0s", 0),
        ("120", 120),
    ])
    func durationsParse(text: String, seconds: Int) {
        #expect(DefinitionDuration.seconds(from: text) == seconds)
    }

    @Test(arguments: ["", "h", "1x", "1h1h", "30m1h", "1.5h", "-1h", "1 h", "1H", "367d", "99999999999s", "1h30"])
    func durationsRefuseMalformedText(text: String) {
        #expect(DefinitionDuration.seconds(from: text) == nil)
    }

    @Test(arguments: [
        ("glod", ["standard", "silver", "gold", "platinum"], "gold"),
        ("schedul", ["name", "schedule"], "schedule"),
        ("Gold", ["gold"], "gold"),
        ("forbidden", ["forbid", "allow"], "forbid"),
        ("cat", ["catch_up", "concurrency"], "catch_up"),
        ("Asia/Shangai", TimeZone.knownTimeZoneIdentifiers, "Asia/Shanghai"),
    ])
    func spellingSuggestionFindsTheIntendedName(word: String, candidates: [String], expected: String) {
        #expect(SpellingSuggestion.closest(to: word, among: candidates) == expected)
    }

    @Test func spellingSuggestionStaysQuietWhenNothingIsClose() {
        #expect(SpellingSuggestion.closest(to: "diamond", among: ["gold", "silver"]) == nil)
        #expect(SpellingSuggestion.closest(to: "x", among: ["xylophone"]) == nil)
        #expect(SpellingSuggestion.editDistance(Array("kitten".unicodeScalars), Array("sitting".unicodeScalars)) == 3)
        #expect(SpellingSuggestion.hint(for: "zz", among: ["a", "b"]) == " (expected one of a, b)")
        #expect(SpellingSuggestion.hint(for: "zz", among: ["a", "b"], listUpTo: 0) == "")
    }

    @Test func calendarDaysKnowTheCalendar() throws {
        #expect(CalendarDay("2024-02-29") != nil)
        #expect(CalendarDay("2026-02-29") == nil)
        #expect(CalendarDay("1900-02-29") == nil)
        #expect(CalendarDay("2000-02-29") != nil)
        #expect(CalendarDay("2026-04-31") == nil)
        #expect(CalendarDay("2026-1-01") == nil)
        #expect(CalendarDay("2026-13-01") == nil)
        let day = try #require(CalendarDay("2026-12-01"))
        #expect(day.description == "2026-12-01")
        #expect(try #require(CalendarDay("2026-11-30")) < day)
        let decoded = try JSONDecoder().decode([CalendarDay].self, from: Data(#"["2026-12-01"]"#.utf8))
        #expect(decoded == [day])
    }

    @Test func unknownKeysAreReportedAtTheKeyWithAFullPath() throws {
        let diagnostics = DefinitionDiagnostics()
        guard
            case .document(let root) = DefinitionDocument.compose(
                "outer:\n  inner: [{good: 1, bda: 2}]\n", file: "t.yaml", diagnostics: diagnostics)
        else {
            Issue.record("could not compose")
            return
        }
        let inner = root.mapping()?.value("outer")?.mapping()?.value("inner")?.list()?.first?.mapping()
        inner?.rejectUnknownKeys(allowed: ["good", "bad"])
        #expect(
            diagnostics.errors.map(\.description) == [
                "t.yaml:2:21: outer.inner[0].bda: unknown field \"bda\" (did you mean \"bad\"?)"
            ])
    }
}
