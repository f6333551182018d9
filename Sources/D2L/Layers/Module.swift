/// The base class of every layer and network, like PyTorch's `nn.Module`.
///
/// Modules are classes so that a layer can create its parameters on its first forward pass,
/// once it has seen the input's shape (PyTorch's `LazyConv2d`/`LazyLinear`). A module knows:
/// - its sub-modules (`namedChildren`) and its own parameters and buffers, named as in a
///   PyTorch `state_dict` (`0.weight`, `1.running_mean`, …);
/// - whether it is in training or evaluation mode (`train()` / `eval()`, recursive);
/// - how many FLOPs one forward pass of its own costs (for the summary table).
open class Module {
    public private(set) var isTraining = true

    public init() {}

    /// The class name the book prints (`Conv2d`, `BatchNorm2d`, `Sequential`, …).
    open var typeName: String { String(describing: type(of: self)) }

    /// Direct sub-modules with their names.
    open var namedChildren: [(String, Module)] { [] }

    /// This module's own trainable tensors (not its children's). Empty until materialised.
    open var ownParameters: [(String, Tensor)] { [] }

    /// This module's own non-trainable state (BatchNorm's running statistics).
    open var ownBuffers: [(String, Tensor)] { [] }

    /// This module's own integer state, saved with the weights as int64 scalars
    /// (BatchNorm's `num_batches_tracked`).
    open var ownCounters: [(String, Int)] { [] }

    /// Sets one of `ownCounters` (when loading a checkpoint).
    open func setCounter(_ name: String, to value: Int) {}

    /// Names of this module's own state that a checkpoint may lack: state we save but the
    /// book's PyTorch model keeps outside its `state_dict` (the scratch BatchNorm's moving statistics).
    open var optionalStateNames: Set<String> { [] }

    /// The state of a random stream this module draws from while training (Dropout's masks),
    /// nil if it has none. Saved with a run's progress, so a resumed run draws what an
    /// uninterrupted one would have.
    open var randomStream: SeededGenerator? { nil }

    /// Continues the random stream from a saved `randomStream`.
    open func restoreRandomStream(_ stream: SeededGenerator) {}

    /// The computation. Throws `LayerError` for an input the layer cannot take.
    ///
    /// `x` is taken as `consuming`: when the caller hands over its last reference (a
    /// `Sequential` passing one layer's output to the next), a layer may reuse the storage,
    /// as `ReLU` does. Overrides must declare `x` as `consuming` too: Swift 6.3 accepts an
    /// override with a plain parameter, but the thunk it generates never releases the tensor,
    /// so every input of that layer would leak (`trainingStepsLeaveNoGraphBehind` tests this).
    /// A body that uses `x` more than once binds it first (`let input = x`) or passes `copy x`.
    open func forward(_ x: consuming Tensor) throws -> Tensor {
        preconditionFailure("\(typeName) does not implement forward")
    }

    /// FLOPs of this module's own work for one forward pass (children count themselves).
    /// A multiply-add counts as 2 FLOPs.
    open func ownFlops(input: [Int], output: [Int]) -> Int { 0 }

    /// Sets the weight-initialisation scheme of this module and its children (`net.apply(init)`).
    /// Layers that are already materialised are re-initialised.
    open func initialize(_ scheme: WeightInit) {
        for (_, child) in namedChildren { child.initialize(scheme) }
    }

    public final func callAsFunction(_ x: consuming Tensor) throws -> Tensor {
        let inputShape = x.shape
        let y = try forward(consume x)
        if FlopCounter.isActive {
            FlopCounter.total += ownFlops(input: inputShape, output: y.shape)
            FlopCounter.activations += y.count
        }
        return y
    }

    /// Switches this module and all its descendants to training (default) or evaluation mode.
    public final func train(_ on: Bool = true) {
        isTraining = on
        for (_, child) in namedChildren { child.train(on) }
    }

    public final func eval() { train(false) }

    /// Every parameter of the tree with its dotted path, in definition order.
    public final var namedParameters: [(String, Tensor)] { collect { $0.ownParameters } }

    /// Every buffer of the tree with its dotted path.
    public final var namedBuffers: [(String, Tensor)] { collect { $0.ownBuffers } }

    public final var parameters: [Tensor] { namedParameters.map(\.1) }

    /// The number of trainable values (0 for layers not yet materialised).
    public final var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    /// Every descendant with its dotted path (the module itself first, path "").
    public final var namedModules: [(String, Module)] {
        var result: [(String, Module)] = [("", self)]
        for (name, child) in namedChildren {
            result += child.namedModules.map { ($0.0.isEmpty ? name : name + "." + $0.0, $0.1) }
        }
        return result
    }

    private func collect(_ own: (Module) -> [(String, Tensor)]) -> [(String, Tensor)] {
        namedModules.flatMap { path, module in
            own(module).map { (path.isEmpty ? $0.0 : path + "." + $0.0, $0.1) }
        }
    }
}

/// Accumulates FLOPs of every module call while a summary runs.
enum FlopCounter {
    nonisolated(unsafe) static var isActive = false
    nonisolated(unsafe) static var total = 0
    /// Output elements of every module call, nested ones included (what a training step keeps for backward).
    nonisolated(unsafe) static var activations = 0
}

/// An input a layer cannot take, with the path of the layer in the model
/// (e.g. `net.3 (Conv2d): expects 4-D (N, C, H, W) input, got [256, 120]`).
public struct LayerError: Error, CustomStringConvertible {
    public var path: [String]
    public let layer: String
    public let message: String

    public init(_ layer: String, _ message: String) {
        self.path = []; self.layer = layer; self.message = message
    }

    public var description: String {
        let where_ = path.isEmpty ? layer : path.joined(separator: ".") + " (\(layer))"
        return "\(where_): \(message)"
    }

    /// The same error seen from the parent, one level up the path.
    public func inside(_ name: String) -> LayerError {
        var e = self
        e.path.insert(name, at: 0)
        return e
    }
}

extension Module {
    /// Calls `child` and, if it throws a `LayerError`, adds `name` to the error's path.
    public func call(_ child: Module, named name: String, _ x: consuming Tensor) throws -> Tensor {
        do { return try child(consume x) } catch let e as LayerError { throw e.inside(name) }
    }

    /// With `thenReLU`, `call(bn, named: name, x).relu()` with the batch norm and the ReLU in
    /// one pass each way (`BatchNorm.forwardThenReLU`); without, `call(bn, named: name, x)`.
    /// While FLOPs are being counted the two run apart, so that each layer's count stays its own.
    public func call(_ bn: BatchNorm, named name: String, _ x: consuming Tensor, thenReLU: Bool) throws -> Tensor {
        guard thenReLU else { return try call(bn as Module, named: name, consume x) }
        guard !FlopCounter.isActive else { return try call(bn as Module, named: name, consume x).relu() }
        do { return try bn.forwardThenReLU(consume x) } catch let e as LayerError { throw e.inside(name) }
    }
}

extension Module {
    /// Runs `body` with the module in evaluation mode (batch norm on its running statistics,
    /// dropout off), then puts it back in the mode it was in.
    public func inEvaluationMode<R>(_ body: () throws -> R) rethrows -> R {
        let wasTraining = isTraining
        eval()
        defer { train(wasTraining) }
        return try body()
    }
}
