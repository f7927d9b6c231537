/// A JSON value as a safetensors header holds it, parsed strictly (RFC 8259).
///
/// Foundation's `JSONSerialization` keeps the last of two equal keys and turns numbers
/// into `NSNumber`s that silently truncate `1.5` or read `true` as 1; a header is
/// parsed here instead, so that a duplicate key is an error and a number keeps its
/// literal text for the reader to check.
enum HeaderJSON {
    /// Members in file order; keys are unique.
    case object([(key: String, value: HeaderJSON)])
    case array([HeaderJSON])
    case string(String)
    /// The number's literal text, as written (`12`, `1.5`, `1e3`).
    case number(String)
    case bool(Bool)
    case null

    /// The value as a message shows it: a number or literal as written, a string quoted.
    var literal: String {
        switch self {
        case .object: "an object"
        case .array: "an array"
        case .string(let text): "\"\(text.asciiEscaped)\""
        case .number(let text): text
        case .bool(let value): String(value)
        case .null: "null"
        }
    }

    /// Why a header is not JSON, with the byte offset where parsing stopped.
    struct SyntaxError: Error {
        let problem: String
    }

    /// Nesting deeper than this is refused rather than parsed by recursion (a header
    /// needs three levels: the header, a tensor's entry, its shape).
    static let maximumDepth = 16

    /// Parses `bytes` as one JSON value, allowing only whitespace around it.
    static func parse(_ bytes: ArraySlice<UInt8>) throws(SyntaxError) -> HeaderJSON {
        var parser = Parser(bytes: bytes, index: bytes.startIndex)
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.endIndex else { throw parser.error("unexpected text after the JSON value") }
        return value
    }

    private struct Parser {
        let bytes: ArraySlice<UInt8>
        var index: Int

        func error(_ problem: String) -> SyntaxError {
            SyntaxError(problem: "\(problem) at byte \(index - bytes.startIndex)")
        }

        mutating func skipWhitespace() {
            while index < bytes.endIndex, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        mutating func expect(_ literal: String) throws(SyntaxError) {
            for byte in literal.utf8 {
                guard index < bytes.endIndex, bytes[index] == byte else { throw error("expected '\(literal)'") }
                index += 1
            }
        }

        mutating func value(depth: Int) throws(SyntaxError) -> HeaderJSON {
            skipWhitespace()
            guard index < bytes.endIndex else { throw error("unexpected end") }
            switch bytes[index] {
            case UInt8(ascii: "{"):
                guard depth < HeaderJSON.maximumDepth else { throw error("nested too deeply") }
                return try object(depth: depth + 1)
            case UInt8(ascii: "["):
                guard depth < HeaderJSON.maximumDepth else { throw error("nested too deeply") }
                return try array(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"):
                try expect("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try expect("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try expect("null")
                return .null
            default: return .number(try number())
            }
        }

        mutating func object(depth: Int) throws(SyntaxError) -> HeaderJSON {
            index += 1
            var members: [(key: String, value: HeaderJSON)] = []
            var keys = Set<String>()
            skipWhitespace()
            if index < bytes.endIndex, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                guard index < bytes.endIndex, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a key") }
                let key = try string()
                guard keys.insert(key).inserted else { throw error("duplicate key '\(key.asciiEscaped)'") }
                skipWhitespace()
                try expect(":")
                members.append((key, try value(depth: depth)))
                skipWhitespace()
                guard index < bytes.endIndex else { throw error("unexpected end") }
                index += 1
                switch bytes[index - 1] {
                case UInt8(ascii: ","): continue
                case UInt8(ascii: "}"): return .object(members)
                default: throw error("expected ',' or '}'")
                }
            }
        }

        mutating func array(depth: Int) throws(SyntaxError) -> HeaderJSON {
            index += 1
            var elements: [HeaderJSON] = []
            skipWhitespace()
            if index < bytes.endIndex, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(elements)
            }
            while true {
                elements.append(try value(depth: depth))
                skipWhitespace()
                guard index < bytes.endIndex else { throw error("unexpected end") }
                index += 1
                switch bytes[index - 1] {
                case UInt8(ascii: ","): continue
                case UInt8(ascii: "]"): return .array(elements)
                default: throw error("expected ',' or ']'")
                }
            }
        }

        /// A number's literal text, checked against JSON's grammar.
        mutating func number() throws(SyntaxError) -> String {
            let start = index
            func digits() -> Int {
                let first = index
                while index < bytes.endIndex, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
                return index - first
            }
            if index < bytes.endIndex, bytes[index] == UInt8(ascii: "-") { index += 1 }
            let integerStart = index
            let integerDigits = digits()
            guard integerDigits > 0, integerDigits == 1 || bytes[integerStart] != UInt8(ascii: "0") else {
                throw error("not a JSON value")
            }
            if index < bytes.endIndex, bytes[index] == UInt8(ascii: ".") {
                index += 1
                guard digits() > 0 else { throw error("malformed number") }
            }
            if index < bytes.endIndex, bytes[index] | 0x20 == UInt8(ascii: "e") {
                index += 1
                if index < bytes.endIndex, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                guard digits() > 0 else { throw error("malformed number") }
            }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        /// A string's value: escapes resolved, UTF-8 checked.
        mutating func string() throws(SyntaxError) -> String {
            index += 1
            var utf8: [UInt8] = []
            while true {
                guard index < bytes.endIndex else { throw error("unterminated string") }
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    guard let text = String(validating: utf8, as: UTF8.self) else { throw error("string is not UTF-8") }
                    return text
                case UInt8(ascii: "\\"):
                    guard index < bytes.endIndex else { throw error("unterminated string") }
                    let escape = bytes[index]
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
                    case UInt8(ascii: "b"): utf8.append(0x08)
                    case UInt8(ascii: "f"): utf8.append(0x0C)
                    case UInt8(ascii: "n"): utf8.append(0x0A)
                    case UInt8(ascii: "r"): utf8.append(0x0D)
                    case UInt8(ascii: "t"): utf8.append(0x09)
                    case UInt8(ascii: "u"): utf8 += try unicodeEscape()
                    default: throw error("invalid escape in string")
                    }
                case 0..<0x20: throw error("control character in string")
                default: utf8.append(byte)
                }
            }
        }

        /// The UTF-8 of `\uXXXX` (after the `u`), joining a surrogate pair.
        mutating func unicodeEscape() throws(SyntaxError) -> [UInt8] {
            func hex4() throws(SyntaxError) -> UInt32 {
                guard index + 4 <= bytes.endIndex, bytes[index..<index + 4].allSatisfy({ Character(Unicode.Scalar($0)).isHexDigit }),
                    let value = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16)
                else { throw error("invalid \\u escape") }
                index += 4
                return value
            }
            var scalar = try hex4()
            if (0xD800..<0xDC00).contains(scalar) {
                try expect("\\u")
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate in \\u escape") }
                scalar = 0x10000 + (scalar - 0xD800) << 10 + (low - 0xDC00)
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw error("unpaired surrogate in \\u escape") }
            return Array(String(Character(unicode)).utf8)
        }
    }
}

extension String {
    /// The text with every non-printable or non-ASCII scalar written as `\u{…}`, so
    /// that an error message naming it stays one line of ASCII.
    var asciiEscaped: String {
        unicodeScalars.map { (0x20..<0x7F).contains($0.value) ? String($0) : "\\u{\(String($0.value, radix: 16))}" }.joined()
    }
}
