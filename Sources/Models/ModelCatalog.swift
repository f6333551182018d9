import D2L

/// The chapter models by name, with the book's input size and batch size, for the
/// benchmark and for tools that pick a model by name.
public enum ModelCatalog {
    public struct Entry: Sendable {
        public let name: String
        public let input: Int
        public let batch: Int
        public let make: @Sendable () -> Module
        /// What the book's `state_dict` names have in front of ours (`net.` for en 1.0's RegNetX32).
        public let stateDictPrefix: String
        public init(name: String, input: Int, batch: Int, stateDictPrefix: String = "", make: @escaping @Sendable () -> Module) {
            self.name = name; self.input = input; self.batch = batch; self.stateDictPrefix = stateDictPrefix; self.make = make
        }
    }

    public static let entries: [Entry] = [
        Entry(name: "alexnet", input: 224, batch: 128, make: { alexNet() }),
        Entry(name: "vgg_small", input: 224, batch: 128, make: { vgg(vggSmallArchitecture) }),
        Entry(name: "nin", input: 224, batch: 128, make: { nin() }),
        Entry(name: "googlenet", input: 96, batch: 128, make: { googLeNet() }),
        Entry(name: "bn_lenet", input: 28, batch: 256, make: { bnLeNet() }),
        Entry(name: "bn_lenet_scratch", input: 28, batch: 256, make: { bnLeNetScratch() }),
        Entry(name: "resnet18", input: 96, batch: 256, make: { resNet18() }),
        Entry(name: "densenet", input: 96, batch: 256, make: { denseNet() }),
        Entry(name: "regnetx32", input: 96, batch: 128, stateDictPrefix: regNetStateDictPrefix, make: { regNetX32() }),
    ]

    public static var names: [String] { entries.map(\.name) }
    public static func entry(_ name: String) -> Entry? { entries.first { $0.name == name } }
}
