import Foundation
import Testing

/// The core's folders are layers, and each uses only the layers before it:
/// Format → Compute → Tensor → Ops → Layers → Data → Training → Checkpoint → Inspection → Imaging.
/// This test reads the sources and fails on any use of a name that only a later layer declares
/// (a type, a top-level function or constant, or a method an extension adds), naming the file,
/// the name and the layer that declares it.
extension CoreTests {
    @Suite struct LayeringTests {
        static let layers = ["Format", "Compute", "Tensor", "Ops", "Layers", "Data", "Training", "Checkpoint", "Inspection", "Imaging"]

        static var coreDirectory: URL {
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("Sources/D2L")
        }

        /// Source text without comments and string literals (their words are not uses).
        static func code(_ text: String) -> String {
            var out = "", i = text.startIndex
            func starts(_ s: String) -> Bool { text[i...].hasPrefix(s) }
            while i < text.endIndex {
                if starts("//") {
                    i = text[i...].firstIndex(of: "\n") ?? text.endIndex
                } else if starts("/*") {
                    i = text[i...].range(of: "*/").map(\.upperBound) ?? text.endIndex
                } else if starts("\"\"\"") {
                    let rest = text.index(i, offsetBy: 3)
                    i = text[rest...].range(of: "\"\"\"").map(\.upperBound) ?? text.endIndex
                    out += "\"\""
                } else if text[i] == "\"" {
                    var j = text.index(after: i)
                    while j < text.endIndex && text[j] != "\"" && text[j] != "\n" {
                        j = text.index(after: text[j] == "\\" ? text.index(after: j) : j)
                    }
                    i = j < text.endIndex ? text.index(after: j) : j
                    out += "\"\""
                } else {
                    out.append(text[i]); i = text.index(after: i)
                }
            }
            return out
        }

        /// Names a file declares for other files: types (nested ones too), top-level functions
        /// and constants that are not private, and the public members it adds to `Tensor` or
        /// `Module` (used as `x.name`). Nested functions and local variables are not declarations.
        static func declarations(_ code: String) -> (names: Set<String>, members: Set<String>) {
            var names = Set<String>(), members = Set<String>()
            let type = try! NSRegularExpression(pattern: #"\b(?:struct|class|enum|protocol|typealias|actor)\s+([A-Za-z_]\w*)"#)
            for m in type.matches(in: code, range: NSRange(code.startIndex..., in: code)) {
                names.insert(String(code[Range(m.range(at: 1), in: code)!]))
            }
            let topLevel = try! NSRegularExpression(pattern: #"^(?:@\w+\s+)*(?:public\s+|internal\s+)?(?:func|let|var)\s+([A-Za-z_]\w*)"#)
            let member = try! NSRegularExpression(pattern: #"^    (?:@\w+\s+)*public\s+(?:(?:static|final|consuming|mutating)\s+)*(?:func|var)\s+([A-Za-z_]\w*)"#)
            var extending = false
            for line in code.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
                let range = NSRange(line.startIndex..., in: line)
                if !line.hasPrefix(" ") && !line.isEmpty { extending = line.hasPrefix("extension Tensor") || line.hasPrefix("extension Module") }
                if let m = topLevel.firstMatch(in: line, range: range) { names.insert(String(line[Range(m.range(at: 1), in: line)!])) }
                if extending, let m = member.firstMatch(in: line, range: range) { members.insert(String(line[Range(m.range(at: 1), in: line)!])) }
            }
            return (names, members)
        }

        static func identifiers(_ code: String) -> Set<String> {
            let regex = try! NSRegularExpression(pattern: #"[A-Za-z_]\w*"#)
            return Set(regex.matches(in: code, range: NSRange(code.startIndex..., in: code)).map { String(code[Range($0.range, in: code)!]) })
        }

        /// Names used after a dot (`x.relu()`), less those the standard library's numbers and
        /// SIMD vectors also have (`v.sum()`, `x.squareRoot()`), which say nothing about layers.
        static func memberUses(_ code: String) -> Set<String> {
            let regex = try! NSRegularExpression(pattern: #"\.([A-Za-z_]\w*)"#)
            let standard: Set = ["sum", "log", "exp", "squareRoot", "max", "min"]
            return Set(regex.matches(in: code, range: NSRange(code.startIndex..., in: code)).map { String(code[Range($0.range(at: 1), in: code)!]) })
                .subtracting(standard)
        }

        @Test func everyLayerUsesOnlyTheLayersBeforeIt() throws {
            let fm = FileManager.default
            let folders = try fm.contentsOfDirectory(atPath: Self.coreDirectory.path).filter { !$0.hasPrefix(".") }.sorted()
            #expect(folders == Self.layers.sorted(), "Sources/D2L holds exactly the layers named here")
            var files: [(layer: Int, name: String, code: String)] = []
            for (rank, layer) in Self.layers.enumerated() {
                let dir = Self.coreDirectory.appendingPathComponent(layer)
                for file in try fm.contentsOfDirectory(atPath: dir.path).sorted() where file.hasSuffix(".swift") {
                    let text = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
                    files.append((rank, layer + "/" + file, Self.code(text)))
                }
            }
            #expect(files.count > 60)
            // The lowest layer that declares each name: a name also declared at or below a file's
            // own layer (an overload, a method of the same name) is not an upward reference.
            var lowest: [String: Int] = [:], lowestMember: [String: Int] = [:]
            for f in files {
                let (names, members) = Self.declarations(f.code)
                for name in names { lowest[name] = min(lowest[name] ?? .max, f.layer) }
                for name in members { lowestMember[name] = min(lowestMember[name] ?? .max, f.layer) }
            }
            #expect(lowest["Tensor"] == 2 && lowest["conv2d"] == 3 && lowest["Module"] == 4 && lowest["Trainer"] == 6)
            #expect(lowestMember["relu"] == 3 && lowestMember["firstConvolution"] == 4)
            var upward: [String] = []
            for f in files {
                for name in Self.identifiers(f.code) where (lowest[name] ?? -1) > f.layer {
                    upward.append("\(f.name) uses \(name) from \(Self.layers[lowest[name]!])")
                }
                for name in Self.memberUses(f.code) where (lowestMember[name] ?? -1) > f.layer && (lowest[name] ?? .max) > f.layer {
                    upward.append("\(f.name) uses .\(name) from \(Self.layers[lowestMember[name]!])")
                }
            }
            #expect(upward.isEmpty, "\(upward.sorted().joined(separator: "\n"))")
        }

        /// The checker itself: a use of a later layer's name is found, a comment or string is not.
        @Test func theCheckerSeesUsesNotWords() {
            let code = Self.code("let a = Trainer() // Trainer\nlet s = \"Trainer\"\n/* Trainer */ let t = \"\"\"\nTrainer\n\"\"\"")
            #expect(Self.identifiers(code).contains("Trainer"))
            #expect(code.components(separatedBy: "Trainer").count == 2)
            let d = Self.declarations("public struct A {}\nfunc b() {\n    let local = 1\n    func nested() {}\n}\nextension Tensor {\n    public func c() {}\n}")
            #expect(d.names == ["A", "b"] && d.members == ["c"])
        }
    }
}
