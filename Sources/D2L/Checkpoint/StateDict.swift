import Foundation

/// A model's weights under PyTorch `state_dict` names, saved to and loaded from safetensors.
///
/// Names are the dotted module paths of the book's PyTorch code (`0.weight`,
/// `1.0.conv1.weight`, `1.0.bn1.running_mean`, `1.0.bn1.num_batches_tracked`), in PyTorch's
/// order: a module's own parameters, then its buffers, then its children. A `prefix` adds the
/// name of an enclosing module the book has and we do not (`net.` for en 1.0's `d2l.Classifier`).
public struct StateEntry {
    public enum Value {
        case tensor(Tensor)
        /// An integer counter, saved as an int64 scalar (shape []).
        case counter(Int, Module, String)
    }
    public let name: String
    public let value: Value
    /// The file may lack this entry (see `Module.optionalStateNames`).
    public let optional: Bool

    public var shape: [Int] {
        if case .tensor(let t) = value { return t.shape }
        return []
    }
}

extension Module {
    /// Every saved entry of the tree, PyTorch's `state_dict()` order. Lazy layers that have not
    /// run yet have no entries: materialise them (one forward pass) first.
    public func stateEntries(prefix: String = "") -> [StateEntry] {
        namedModules.flatMap { path, module -> [StateEntry] in
            let base = prefix + (path.isEmpty ? "" : path + ".")
            let optional = module.optionalStateNames
            let tensors = (module.ownParameters + module.ownBuffers).map {
                StateEntry(name: base + $0.0, value: .tensor($0.1), optional: optional.contains($0.0))
            }
            let counters = module.ownCounters.map {
                StateEntry(name: base + $0.0, value: .counter($0.1, module, $0.0), optional: optional.contains($0.0))
            }
            return tensors + counters
        }
    }

    /// The `state_dict` names, in order.
    public func stateDictKeys(prefix: String = "") -> [String] { stateEntries(prefix: prefix).map(\.name) }

    /// The weights as a safetensors file (F32 tensors, I64 counters) with `metadata`.
    public func safetensorsData(prefix: String = "", metadata: [String: String] = [:]) throws -> Data {
        let entries = stateEntries(prefix: prefix)
        // Counters first: their 8-byte values stay 8-byte aligned, as in PyTorch's own files.
        let ordered = entries.filter { if case .counter = $0.value { true } else { false } }
            + entries.filter { if case .tensor = $0.value { true } else { false } }
        return try SafeTensors.encode(ordered.map { e in
            switch e.value {
            case .tensor(let t): (name: e.name, shape: t.shape, payload: .f32(t.data))
            case .counter(let n, _, _): (name: e.name, shape: [], payload: .i64([Int64(n)]))
            }
        }, metadata: ["format": "pt"].merging(metadata) { $1 })
    }

    /// Saves the weights to `path` atomically (the previous file survives any failure).
    public func saveSafetensors(to path: String, prefix: String = "", metadata: [String: String] = [:]) throws {
        try writeAtomically(try safetensorsData(prefix: prefix, metadata: metadata), to: path)
    }

    /// Loads every entry from `file`, strictly: if any name is missing or unexpected, any shape
    /// differs, any dtype cannot be converted or any value is not finite, nothing is changed and
    /// `CheckpointMismatch` lists every problem at once. Returns the names of optional entries
    /// the file lacked (left as they were).
    @discardableResult
    public func loadState(from file: SafeTensors.File, path: String, prefix: String = "") throws -> [String] {
        let entries = stateEntries(prefix: prefix)
        var problems = CheckpointMismatch(path: path, model: typeName)
        var absentOptional: [String] = []
        var assignments: [() -> Void] = []
        let expected = Set(entries.map(\.name))
        for entry in entries {
            guard let found = file.entries[entry.name] else {
                if entry.optional { absentOptional.append(entry.name) } else { problems.missing.append(entry.name) }
                continue
            }
            problems.matched += 1
            guard let dtype = found.dtype else {
                problems.unsupportedDTypes.append((entry.name, found.rawDType)); continue
            }
            guard found.shape == entry.shape else {
                problems.shapeMismatches.append((entry.name, expected: entry.shape, found: found.shape)); continue
            }
            switch entry.value {
            case .tensor(let t):
                let values = file.floats(found)
                let bad = values.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
                if bad > 0 { problems.nonFinite.append((entry.name, bad)); continue }
                assignments.append { t.data = values }
            case .counter(_, let module, let name):
                let n = file.integers(found)[0]
                guard n >= 0, n <= Int64(Int32.max) else {
                    problems.badCounters.append((entry.name, dtype.isFloatingPoint ? String(file.floats(found)[0]) : String(n))); continue
                }
                assignments.append { module.setCounter(name, to: Int(n)) }
            }
        }
        problems.unexpected = file.entries.keys.filter { !expected.contains($0) }.sorted()
        guard problems.isEmpty else { throw problems }
        for assign in assignments { assign() }
        return absentOptional
    }
}

/// A checkpoint that does not fit the model, every problem listed (as PyTorch's
/// `load_state_dict` reports missing and unexpected keys and size mismatches together).
public struct CheckpointMismatch: Error, CustomStringConvertible {
    public let path: String
    public let model: String
    public var missing: [String] = []
    public var unexpected: [String] = []
    public var shapeMismatches: [(name: String, expected: [Int], found: [Int])] = []
    public var unsupportedDTypes: [(name: String, dtype: String)] = []
    public var nonFinite: [(name: String, count: Int)] = []
    public var badCounters: [(name: String, value: String)] = []
    /// How many of the network's names the file has.
    public var matched = 0

    init(path: String, model: String) { self.path = path; self.model = model }

    public var isEmpty: Bool {
        missing.isEmpty && unexpected.isEmpty && shapeMismatches.isEmpty && unsupportedDTypes.isEmpty
            && nonFinite.isEmpty && badCounters.isEmpty
    }

    public var description: String {
        var lines = ["checkpoint \(path) does not fit this network; nothing was loaded:"]
        func quoted(_ names: [String]) -> String { names.map { "\"\($0)\"" }.joined(separator: ", ") }
        if !missing.isEmpty { lines.append("  Missing key(s) in the file (\(missing.count)): \(quoted(missing))") }
        if !unexpected.isEmpty { lines.append("  Unexpected key(s) in the file (\(unexpected.count)): \(quoted(unexpected))") }
        for m in shapeMismatches {
            lines.append("  size mismatch for \(m.name): the file has shape \(m.found.shapeDescription), this network has \(m.expected.shapeDescription)")
        }
        for d in unsupportedDTypes {
            lines.append("  unsupported dtype \(d.dtype) for \(d.name) (readable: \(SafeTensors.DType.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        for n in nonFinite { lines.append("  \(n.name) holds \(n.count) non-finite value\(n.count == 1 ? "" : "s") (NaN or infinity)") }
        for c in badCounters { lines.append("  \(c.name) is \(c.value), not a count") }
        if !shapeMismatches.isEmpty {
            lines.append("  (A size mismatch in a fully connected layer usually means the images had another size: pass the --resize the file was trained with.)")
        }
        if matched == 0 && !unexpected.isEmpty {
            lines.append("  (No name in the file matches this network: it holds another network's weights, or its names carry another prefix.)")
        }
        return lines.joined(separator: "\n")
    }
}
