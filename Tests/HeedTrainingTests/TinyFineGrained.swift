import HeedData

/// The training tests' tiny task: 8×8 synthetic fine-grained images of 4 classes, small
/// enough that a network trains on it in seconds.
func tinyFineGrained(train: Int, test: Int, seed: UInt64) -> (train: ImageDataset, test: ImageDataset) {
    var configuration = SyntheticFineGrained.Configuration()
    configuration.size = 8
    configuration.detailSize = 2
    configuration.classes = 4
    configuration.clutter = 1
    configuration.trainCount = train
    configuration.testCount = test
    return SyntheticFineGrained.make(configuration, seed: seed)
}
