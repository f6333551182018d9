import D2L

/// LeNet-5 as in D2L zh 6.6 / en 7.6 (the book's `LeNet`), with the choices 7.1's exercises
/// vary: the activation, and dropout after the two hidden dense layers.
///   conv 5×5 pad 2 (6) → act → avgpool 2/2 → conv 5×5 (16) → act → avgpool 2/2
///   → flatten (400) → linear 120 → act [→ dropout] → linear 84 → act [→ dropout] → linear 10
/// 61,706 parameters for 28×28 input.
public enum LeNetActivation: String, Sendable { case sigmoid, relu }

public func leNet(activation: LeNetActivation = .sigmoid, dropout: Float = 0, classes: Int = 10) -> Sequential {
    func act() -> Module { activation == .relu ? ReLU() : Sigmoid() }
    var layers: [Module] = [
        Conv2d(outChannels: 6, kernel: 5, padding: 2), act(), AvgPool2d(kernel: 2, stride: 2),
        Conv2d(outChannels: 16, kernel: 5), act(), AvgPool2d(kernel: 2, stride: 2), Flatten(),
        Linear(120), act()]
    if dropout > 0 { layers.append(Dropout(dropout)) }
    layers += [Linear(84), act()]
    if dropout > 0 { layers.append(Dropout(dropout)) }
    layers.append(Linear(classes))
    return Sequential(layers)
}
