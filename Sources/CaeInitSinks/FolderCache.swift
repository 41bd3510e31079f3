/// The folders one batch of writes goes into, each opened once (component by component, made when missing, never
/// through a link) and closed at the end of the batch: the names of a kind all share one folder, which per file
/// cost two `openat` and two `close`. Its first opening in the batch reports the folder, so that `flush` syncs it.
struct FolderCache: ~Copyable {
    let root: DirectoryDescriptor
    /// Called with a folder's relative path (`""`: the sink directory) before the first write into it.
    let willWriteInto: (String) -> Void
    private var folders: [String: DirectoryDescriptor] = [:]

    init(root: DirectoryDescriptor, willWriteInto: @escaping (String) -> Void) {
        self.root = root
        self.willWriteInto = willWriteInto
    }

    deinit {
        for folder in folders.values where folder.fd != root.fd { folder.release() }
    }

    /// The folder holding an object whose path components are `components` (the last one, the file's name, left
    /// out).
    mutating func folder(of components: [String]) throws(FileFailure) -> DirectoryDescriptor {
        let names = components.dropLast()
        let path = names.joined(separator: "/")
        if let folder = folders[path] { return folder }
        willWriteInto(path)
        var folder = root
        do throws(FileFailure) {
            for name in names {
                let next = try folder.subdirectory(name, create: true)
                if folder.fd != root.fd { folder.release() }
                folder = next
            }
        } catch {
            if folder.fd != root.fd { folder.release() }
            throw error
        }
        folders[path] = folder
        return folder
    }
}
