/// Problems with the data set files, each named precisely with what to do about it.
public enum DataError: Error, CustomStringConvertible, Equatable {
    /// None of the searched folders holds all four Fashion-MNIST files.
    case notFound(searched: [String])
    /// The file cannot be opened.
    case unreadable(path: String, reason: String)
    /// The gzip stream is corrupt or ends early.
    case damaged(path: String, reason: String)
    /// The IDX header is not what the file's role requires.
    case badHeader(path: String, reason: String)
    /// Images and labels disagree, or a label is outside 0–9.
    case inconsistent(reason: String)

    public var description: String {
        switch self {
        case .notFound(let searched):
            return """
            Fashion-MNIST not found. Expected the four files
              \(FashionMNIST.fileNames.joined(separator: "\n  "))
            (gzipped, or plain without .gz) in one folder. Searched:
              \(searched.joined(separator: "\n  "))
            Fix: `sudo apt-get install dataset-fashion-mnist` (installs them to \(FashionMNIST.systemDirectory)),
            or pass --data-dir pointing at a folder with the four files.
            """
        case .unreadable(let path, let reason): return "cannot read \(path): \(reason)"
        case .damaged(let path, let reason):
            return "\(path) is damaged (\(reason)). Reinstall it: `sudo apt-get install --reinstall dataset-fashion-mnist`, or download the file again."
        case .badHeader(let path, let reason): return "\(path) is not a valid IDX file: \(reason)"
        case .inconsistent(let reason): return "Fashion-MNIST files are inconsistent: \(reason)"
        }
    }
}
