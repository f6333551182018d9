import Foundation

/// How numbers read in printouts and messages.

/// 44878 → "44,878".
public func groupDigits(_ n: Int) -> String {
    let s = String(n.magnitude)
    var out = ""
    for (i, ch) in s.enumerated() {
        if i > 0 && (s.count - i) % 3 == 0 { out += "," }
        out.append(ch)
    }
    return (n < 0 ? "-" : "") + out
}

/// 2_345_678 → "2.35 M", 1.2e9 → "1.20 G".
public func formatFlops(_ n: Int) -> String {
    let x = Double(n)
    if x >= 1e9 { return String(format: "%.2f G", x / 1e9) }
    if x >= 1e6 { return String(format: "%.2f M", x / 1e6) }
    if x >= 1e3 { return String(format: "%.2f K", x / 1e3) }
    return "\(n)"
}
