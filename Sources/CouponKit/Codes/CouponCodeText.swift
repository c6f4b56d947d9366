/// The text form of a coupon code: 100 bits in 20 Crockford base32 characters, shown as five
/// dash-separated groups of four (`3K7Q-M9XD-2VHA-PT4E-W8RN`).
///
/// Bit layout, most significant first (character 1 holds bits 99...95):
///
///     bits 99...96   key version          4 bits (1...15; 0 is never issued)
///     bits 95...48   permuted coupon id  48 bits (CouponCodeFeistel)
///     bits 47...0    tag                 48 bits (truncated HMAC-SHA256)
///
/// So the first character is `version * 2 + (top bit of the permuted id)`: version 1 codes start
/// with `2` or `3`, version 2 codes with `4` or `5`, and so on.
///
/// Parsing is Crockford-lenient: case-insensitive; `I`, `i`, `L`, `l` read as `1`; `O`, `o` read as
/// `0`; dashes (including Unicode dashes such as an en dash from a word processor) and whitespace
/// are ignored anywhere; `U` and every other character are rejected.
enum CouponCodeText {
    /// Significant characters in a code (separators not counted).
    static let characterCount = 20
    /// Inputs longer than this many UTF-8 bytes are rejected before scanning.
    static let maximumInputByteCount = 128

    private static let tagMask: UInt64 = (1 << 48) - 1
    private static let halfMask: UInt64 = (1 << 50) - 1
    private static let alphabet: StaticString = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    private static let dash = UInt8(ascii: "-")

    /// The three fields of a code.
    struct Fields: Sendable, Equatable {
        var version: UInt8
        var permutedID: UInt64
        var tag: UInt64

        init(version: UInt8, permutedID: UInt64, tag: UInt64) {
            self.version = version & 0xF
            self.permutedID = permutedID & CouponCodeFeistel.domainMask
            self.tag = tag & CouponCodeText.tagMask
        }

        /// Builds the fields from the two 50-bit halves of the 100-bit code.
        init(high50: UInt64, low50: UInt64) {
            let high = high50 & CouponCodeText.halfMask
            let low = low50 & CouponCodeText.halfMask
            self.init(
                version: UInt8(truncatingIfNeeded: high >> 46),
                permutedID: ((high & ((1 << 46) - 1)) << 2) | (low >> 48),
                tag: low)
        }

        /// Bits 99...50 of the code (characters 1...10).
        var high50: UInt64 { (UInt64(version) << 46) | (permutedID >> 2) }
        /// Bits 49...0 of the code (characters 11...20).
        var low50: UInt64 { ((permutedID & 0b11) << 48) | tag }
    }

    /// Why a text is not a coupon code; `message` is safe to show to the person who typed it.
    struct Malformed: Error, Sendable, Equatable {
        let message: String
    }

    /// The canonical text: 20 upper-case characters in five dashed groups of four.
    static func format(_ fields: Fields) -> String {
        let high = fields.high50
        let low = fields.low50
        let symbols = alphabet.utf8Start
        return String(unsafeUninitializedCapacity: characterCount + characterCount / 4 - 1) { buffer in
            var out = 0
            for index in 0..<characterCount {
                if index > 0, index % 4 == 0 {
                    buffer[out] = dash
                    out += 1
                }
                let half = index < 10 ? high : low
                let shift = UInt64(5 * (9 - index % 10))
                buffer[out] = symbols[Int((half >> shift) & 31)]
                out += 1
            }
            return out
        }
    }

    /// Parses a code leniently (see the type's documentation).
    static func parse(_ text: String) -> Result<Fields, Malformed> {
        if text.utf8.count > maximumInputByteCount {
            return .failure(Malformed(message:
                "not a coupon code: too long (\(text.utf8.count) bytes); a coupon code has \(characterCount) characters"))
        }
        var high: UInt64 = 0
        var low: UInt64 = 0
        var count = 0
        var position = 0
        for scalar in text.unicodeScalars {
            position += 1
            let value = scalar.isASCII ? asciiTable[Int(scalar.value)] : nonASCIIValue(scalar)
            if value < 32 {
                if count < 10 {
                    high = (high << 5) | UInt64(value)
                } else if count < characterCount {
                    low = (low << 5) | UInt64(value)
                }
                count += 1
            } else if value != separator {
                let shown = scalar.escaped(asASCII: true)
                let hint = (scalar == "U" || scalar == "u")
                    ? "coupon codes never contain U"
                    : "coupon codes use the digits 0-9 and the letters A-Z except U"
                return .failure(Malformed(message:
                    "not a coupon code: invalid character \"\(shown)\" at position \(position); \(hint)"))
            }
        }
        if count == 0 {
            return .failure(Malformed(message: "not a coupon code: the code is empty"))
        }
        if count != characterCount {
            return .failure(Malformed(message:
                "not a coupon code: wrong length, expected \(characterCount) characters "
                + "(dashes and spaces optional) but got \(count)"))
        }
        return .success(Fields(high50: high, low50: low))
    }

    /// Table values: 0...31 a symbol's value, ``separator``, or ``invalid``.
    private static let separator: UInt8 = 0xFE
    private static let invalid: UInt8 = 0xFF

    /// Value of each ASCII character (index = code point).
    private static let asciiTable: [UInt8] = {
        var table = [UInt8](repeating: invalid, count: 128)
        for (value, symbol) in UnsafeBufferPointer(start: alphabet.utf8Start, count: 32).enumerated() {
            table[Int(symbol)] = UInt8(value)
            table[Int(symbol | 0x20)] = UInt8(value)  // lower case (digits are unchanged by | 0x20)
        }
        for alias in "Oo".utf8 { table[Int(alias)] = 0 }
        for alias in "IiLl".utf8 { table[Int(alias)] = 1 }
        for space in " \t\n\r-".utf8 { table[Int(space)] = separator }
        return table
    }()

    /// Non-ASCII: whitespace and dashes (such as an en dash or a no-break space pasted from a
    /// document) separate; anything else is invalid.
    private static func nonASCIIValue(_ scalar: Unicode.Scalar) -> UInt8 {
        scalar.properties.isWhitespace || scalar.properties.isDash ? separator : invalid
    }
}
