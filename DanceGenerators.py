"""The one registry of the generators: their names, the course's keys 1-4, how to build or load one
for a target's dataset, and the command that trains it.

    from DanceGenerators import GENERATORS, make
    gen = make("gan", VideoSkeleton("data/my_target"))        # loads <dataset>/models/gan_<size>.pt
    image = gen.generate(ske)

DanceDemo (its --gen flag and keys 1-4), DanceEval (which generators it scores) and every error
message that says how to train a model read this table, so a new generator is added here once.
Every generator offers `generate(ske) -> BGR uint8 image` (docs/DESIGN.md, "Generators").
"""
from dataclasses import dataclass

from DanceUtils import DanceError


@dataclass(frozen=True)
class Generator:
    name: str          # the one name: --gen, the model file <name>_<size>.pt, DanceEval's report
    key: int           # the course's number (DanceDemo's GEN_TYPE 1-4, and the window's keys)
    what: str          # one line for --help and the README
    trained: bool      # a network, trained by its module's script (False: nothing to train)


GENERATORS = (
    Generator("nearest", 1, "the target's frame whose skeleton is closest", False),
    Generator("vanilla_ske", 2, "a network from the 26 numbers of the skeleton to an image", True),
    Generator("vanilla_image", 3, "a U-Net from the stick figure to an image", True),
    Generator("gan", 4, "the stick-figure U-Net trained against a discriminator (pix2pix)", True),
)
NAMES = tuple(g.name for g in GENERATORS)
TRAINED = tuple(g.name for g in GENERATORS if g.trained)   # the networks


def find(name_or_key, flag="--gen"):
    """The registry's entry for a name ("gan") or a course key (4 or "4"); a DanceError otherwise."""
    text = str(name_or_key).strip()
    for gen in GENERATORS:
        if text in (gen.name, str(gen.key)):
            return gen
    raise DanceError(f"{flag} {name_or_key}: unknown generator; choose one of {', '.join(NAMES)} "
                     f"(or 1-{len(GENERATORS)})")


def train_command(name, dataset_dir):
    """The command that trains generator `name` for the dataset in dataset_dir, in its trainer's words
    (each network's module knows its own script; the registry only asks)."""
    name = find(name).name
    if name == "gan":
        from GenGAN import TRAINER
        return f"{TRAINER} --data {dataset_dir}"
    from GenVanilla import TRAINERS
    return f"{TRAINERS[name]} --data {dataset_dir}"


def make(name, dataset, load=True, size=None, **options):
    """Generator `name` for the target's dataset (a VideoSkeleton).

    load=True: a network reads its trained model file (<dataset>/models/<name>_<size>.pt, or in
    options["model_dir"]); False: a new, untrained network (to train). size: the network's image size
    (default: the dataset's, or that of its only model). options go to the generator's class
    (device, model_dir, temporal_weight for nearest, ngf...).
    """
    name = find(name).name
    if name == "nearest":
        from GenNearest import GenNearest
        return GenNearest(dataset, **options)
    if name == "gan":
        from GenGAN import GenGAN
        return GenGAN(dataset, loadFromFile=load, image_size=size, **options)
    from GenVanilla import GenVanillaNN
    return GenVanillaNN(dataset, loadFromFile=load, optSkeOrImage=1 if name == "vanilla_ske" else 2,
                        image_size=size, **options)
