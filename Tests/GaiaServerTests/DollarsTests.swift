import GaiaAPI
import Testing

/// Costs as the CLI prints them (issue 34: `$0.000000` for a tiny cost, `3.7e-08` elsewhere).
struct DollarsTests {
    @Test func centsForACentOrMoreThreeSignificantFiguresBelowNeverAnExponent() {
        #expect(Dollars.text(1.254) == "$1.25")
        #expect(Dollars.text(0.01) == "$0.01")
        #expect(Dollars.text(0.00123) == "$0.00123")
        #expect(Dollars.text(3.7e-8) == "$0.0000000370")
        #expect(Dollars.text(0) == "$0" && Dollars.text(.nan) == "$?")
        #expect(!Dollars.text(1e-14).contains("e"), Comment(rawValue: Dollars.text(1e-14)))
    }
}
