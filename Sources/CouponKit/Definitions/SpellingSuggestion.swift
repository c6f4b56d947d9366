/// Finds the name a user probably meant, for "did you mean" hints in definition errors.
public enum SpellingSuggestion {
    /// The closest candidate within edit distance 2, or else one that starts with `word` (or that
    /// `word` starts with); nil when none is close. Case is ignored; ties go to the earlier candidate.
    /// The distance must also stay below both lengths, so that "zz" does not suggest "a".
    public static func closest(to word: String, among candidates: [String]) -> String? {
        let lowered = Array(word.lowercased().unicodeScalars)
        guard !lowered.isEmpty else { return nil }
        var best: (candidate: String, distance: Int)?
        for candidate in candidates where candidate != word {
            let other = Array(candidate.lowercased().unicodeScalars)
            let distance = editDistance(lowered, other)
            if distance <= 2, distance < min(lowered.count, other.count), distance < (best?.distance ?? Int.max) {
                best = (candidate, distance)
            }
        }
        if let best {
            return best.candidate
        }
        let text = String(String.UnicodeScalarView(lowered))
        guard text.count >= 2 else { return nil }
        return candidates.first { candidate in
            let other = candidate.lowercased()
            return other.hasPrefix(text) || (other.count >= 2 && text.hasPrefix(other))
        }
    }

    /// Levenshtein distance over Unicode scalars.
    static func editDistance(_ source: [Unicode.Scalar], _ target: [Unicode.Scalar]) -> Int {
        if source.isEmpty { return target.count }
        if target.isEmpty { return source.count }
        var previous = Array(0...target.count)
        var current = [Int](repeating: 0, count: target.count + 1)
        for (i, sourceScalar) in source.enumerated() {
            current[0] = i + 1
            for (j, targetScalar) in target.enumerated() {
                let substitution = previous[j] + (sourceScalar == targetScalar ? 0 : 1)
                current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, substitution)
            }
            swap(&previous, &current)
        }
        return previous[target.count]
    }

    /// ` (did you mean "x"?)` or, for a short list with no close match, ` (expected one of a, b)`.
    static func hint(for word: String, among candidates: [String], listUpTo limit: Int = 8) -> String {
        if let match = closest(to: word, among: candidates) {
            return " (did you mean \"\(match)\"?)"
        }
        if candidates.count <= limit, !candidates.isEmpty {
            return " (expected one of \(candidates.joined(separator: ", ")))"
        }
        return ""
    }
}
