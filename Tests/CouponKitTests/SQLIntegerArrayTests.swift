import Testing

@testable import CouponKit

/// The array text the chunk statements send as bigint[] and int[] parameters, built byte by byte.
struct SQLIntegerArrayTests {
    @Test(arguments: [
        ([], "{}"),
        ([0], "{0}"),
        ([7, -7, 10, -10], "{7,-7,10,-10}"),
        ([1_234_567_890, 1_000_000], "{1234567890,1000000}"),
        ([Int64.max, Int64.min], "{9223372036854775807,-9223372036854775808}"),
    ] as [([Int64], String)])
    func integersAreWrittenAsPostgresArrayText(values: [Int64], expected: String) {
        #expect(SQLIntegerArray.text(values) == expected)
        #expect(SQLIntegerArray.text(values) == "{" + values.map(String.init).joined(separator: ",") + "}")
    }

    /// A bundle chunk sends a column whose elements are all one value as that value (`single`).
    @Test(arguments: [
        ([], nil),
        ([5], 5),
        ([5, 5, 5], 5),
        ([5, 5, 6], nil),
        ([6, 5, 5], nil),
        ([-1, -1], -1),
    ] as [([Int64], Int64?)])
    func aColumnOfOneValueIsKnownAsThatValue(values: [Int64], single: Int64?) {
        var array = SQLIntegerArray()
        for value in values { array.append(value) }
        #expect(array.single == single)
    }
}
