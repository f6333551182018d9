import Testing
@testable import ChapterKit

@Suite struct NarrationTests {
    /// Prose is wrapped at the width; an indented line (a formula) comes out as written.
    @Test func wrapKeepsIndentedLinesVerbatim() {
        let text = "one two three four\n    BN(x) = γ ⊙ (x − μ̂_B) / σ̂_B + β\nfive"
        #expect(Narration.wrap(text, width: 9) == "one two\nthree\nfour\n    BN(x) = γ ⊙ (x − μ̂_B) / σ̂_B + β\nfive")
    }
}
