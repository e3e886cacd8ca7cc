"""A world of invented entities with typed attributes, generated from a seed: the facts suite's data.

Nothing here was on the web when any model was pre-trained: names are built from syllables, each
entity's attribute values are drawn from small pools of ordinary words (cities, professions,
years...). Training documents state an entity's facts through several paraphrase templates (diverse
phrasing is what lets a model retrieve a fact later); probes ask for each fact through one more
template that never appears in training text, as a 4-way choice whose distractors are values of
the same attribute held by other entities of the same domain.

``GENERATOR_VERSION`` goes into every suite that uses the world (``generator.version``): changing
what the generator makes for a given seed means a new version.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

GENERATOR_VERSION = 1
CHOICES = 4

_YEARS = tuple(str(y) for y in range(1801, 1991))
_CITIES = ("Lisbon", "Oslo", "Porto", "Krakow", "Dublin", "Seville", "Bergen", "Lyon", "Turin", "Leipzig",
           "Utrecht", "Ghent", "Tampere", "Bilbao", "Graz", "Brno")
_COUNTRIES = ("Portugal", "Norway", "Chile", "Kenya", "Peru", "Canada", "Finland", "Japan", "Egypt", "Iceland",
              "Mexico", "Greece", "Morocco", "Vietnam", "Ireland", "Austria")
_PRODUCTS = ("bicycles", "umbrellas", "telescopes", "ceramics", "batteries", "guitars", "tractors", "perfume",
             "lamps", "bridges", "clocks", "carpets", "helmets", "violins", "sails", "cameras")
_COLOURS = ("red", "blue", "green", "yellow", "black", "white", "orange", "grey", "purple", "brown", "silver",
            "pink")

# (attribute, value pool, four training templates, the held-out probe template). Every template
# holds {name} and ends with {value}: the probe's context is its text before {value}.
_Attribute = tuple[str, tuple[str, ...], tuple[str, ...], str]
DOMAINS: dict[str, tuple[_Attribute, ...]] = {
    "people": (
        ("birth_year", _YEARS,
         ("{name} was born in {value}", "The birth of {name} took place in {value}", "{name}, a child of the year {value}",
          "Records show that {name} was born in the year {value}"),
         "The year in which {name} was born is {value}"),
        ("birthplace", _CITIES,
         ("{name} was born in the city of {value}", "{name} grew up in his home town of {value}",
          "The birthplace of {name} is {value}", "{name} spent his childhood in {value}"),
         "{name} came into the world in the city of {value}"),
        ("profession", ("architect", "surgeon", "violinist", "geologist", "carpenter", "translator", "pilot",
                        "botanist", "lawyer", "baker", "sculptor", "chemist", "librarian", "astronomer"),
         ("{name} worked as a {value}", "By profession, {name} was a {value}", "{name} earned a living as a {value}",
          "Colleagues knew {name} as a skilled {value}"),
         "{name} spent his career as a {value}"),
        ("employer", ("the national bank", "the railway company", "the city museum", "the state opera",
                      "the royal navy", "the post office", "the university hospital", "the shipyard",
                      "the observatory", "the parliament", "the botanical garden", "the steel works"),
         ("{name} was employed by {value}", "For many years {name} worked for {value}",
          "The employer of {name} was {value}", "{name} held a position at {value}"),
         "{name} drew his salary from {value}"),
    ),
    "companies": (
        ("founding_year", _YEARS,
         ("{name} was founded in {value}", "The company {name} was established in {value}",
          "{name} opened its doors in {value}", "The founders started {name} in the year {value}"),
         "The year in which {name} began trading is {value}"),
        ("headquarters", _CITIES,
         ("{name} has its headquarters in {value}", "The head office of {name} is in {value}",
          "{name} is based in {value}", "{name} runs its business from {value}"),
         "The main offices of {name} can be found in {value}"),
        ("product", _PRODUCTS,
         ("{name} makes {value}", "The main product of {name} is {value}", "{name} is known for its {value}",
          "Most of what {name} sells is {value}"),
         "The factories of {name} turn out {value}"),
        ("country", _COUNTRIES,
         ("{name} is a company from {value}", "{name} was registered in {value}", "{name} pays its taxes in {value}",
          "The home country of {name} is {value}"),
         "The nation where {name} is incorporated is {value}"),
    ),
    "towns": (
        ("country", _COUNTRIES,
         ("{name} is a town in {value}", "The town of {name} lies in {value}", "{name} belongs to {value}",
          "Travellers reach {name} by crossing {value}"),
         "The small town of {name} is located in {value}"),
        ("founded", _YEARS,
         ("{name} was founded in {value}", "The first houses of {name} were built in {value}",
          "{name} received its charter in {value}", "Settlers arrived in {name} in {value}"),
         "The town of {name} dates back to the year {value}"),
        ("export", _PRODUCTS,
         ("{name} exports {value}", "The workshops of {name} produce {value}", "{name} is famous for its {value}",
          "Most families in {name} make {value}"),
         "Merchants travel to {name} to buy {value}"),
        ("twin_city", _CITIES,
         ("{name} is twinned with {value}", "The twin city of {name} is {value}",
          "{name} has a partnership with {value}", "Every summer {name} sends a delegation to {value}"),
         "The sister city of {name} is {value}"),
    ),
    "species": (
        ("habitat", ("desert", "rainforest", "tundra", "marsh", "savanna", "reef", "cave", "mountain", "river",
                     "meadow", "swamp", "glacier"),
         ("The {name} lives in the {value}", "The {name} is found in the {value}",
          "The natural home of the {name} is the {value}", "Biologists study the {name} in the {value}"),
         "The {name} makes its nest in the {value}"),
        ("diet", ("insects", "seeds", "fish", "fruit", "leaves", "roots", "mushrooms", "snails", "worms", "nectar",
                  "algae", "grass"),
         ("The {name} eats {value}", "The diet of the {name} consists of {value}", "The {name} feeds on {value}",
          "The {name} hunts for {value}"),
         "What the {name} likes to eat most is {value}"),
        ("colour", _COLOURS,
         ("The {name} is {value}", "The fur of the {name} is {value}", "The {name} has a {value} coat",
          "You can spot the {name} by its {value} colour"),
         "The colour of the {name} is {value}"),
        ("region", _COUNTRIES,
         ("The {name} is native to {value}", "The {name} was first described in {value}",
          "Only {value} is home to the {name}", "The {name} is protected by law in {value}"),
         "The country where the {name} lives in the wild is {value}"),
    ),
    "stars": (
        ("constellation", ("Orion", "Lyra", "Cygnus", "Draco", "Perseus", "Aquila", "Pegasus", "Cassiopeia",
                           "Andromeda", "Hercules", "Gemini", "Taurus", "Leo", "Virgo"),
         ("{name} is a star in {value}", "The star {name} belongs to the constellation {value}",
          "Astronomers find {name} in {value}", "{name} shines in the constellation of {value}"),
         "On star maps, {name} is drawn as part of {value}"),
        ("colour", _COLOURS,
         ("{name} glows {value}", "The light of {name} is {value}", "{name} is a {value} star",
          "Through a telescope {name} looks {value}"),
         "The colour of the star {name} is {value}"),
        ("planets", ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"),
         ("{name} has {value} planets", "The number of planets around {name} is {value}",
          "Around {name} orbit {value} planets", "Astronomers counted {value} planets around {name}"),
         "The planets that circle {name} number {value}"),
        ("discovered", _YEARS,
         ("{name} was discovered in {value}", "The discovery of {name} was made in {value}",
          "{name} was first observed in {value}", "Astronomers catalogued {name} in {value}"),
         "The year in which {name} was first seen is {value}"),
    ),
}

_ONSETS = ("b", "br", "d", "dr", "f", "g", "gr", "k", "kr", "l", "m", "n", "p", "qu", "r", "s", "t", "tr", "v", "z")
_VOWELS = ("a", "e", "i", "o", "u", "ae", "ei", "ou")
_CODAS = ("", "", "n", "r", "l", "s", "th", "x", "v")
_COMPANY_SUFFIXES = ("Works", "Industries", "Holdings", "Manufacturing")
_NAME_FORMS = {  # how each domain's names are built (_new_name)
    "people": "person", "companies": "company", "towns": "place", "species": "animal", "stars": "place",
}


@dataclass(frozen=True)
class Entity:
    domain: str
    name: str
    values: tuple[tuple[str, str], ...]  # (attribute, value)


@dataclass(frozen=True)
class Probe:
    """One fact asked through its held-out template: ``context`` + " " + ``choices[answer]``."""

    entity: str
    attribute: str
    context: str
    choices: tuple[str, ...]
    answer: int


@dataclass(frozen=True)
class Domain:
    name: str
    entities: tuple[Entity, ...]
    documents: tuple[str, ...]  # training text, entity by entity
    probes: tuple[Probe, ...]  # one per entity and attribute, entity by entity

    def content_hash(self, view: str) -> str:
        parts = self.documents if view == "texts" else [f"{p.context}\x1f{'|'.join(p.choices)}\x1f{p.answer}" for p in self.probes]
        return hashlib.sha256("\x1e".join(parts).encode("utf-8")).hexdigest()


def generate(seed: int, entities: int, documents: int) -> dict[str, Domain]:
    """Every domain of the world for ``seed``: ``entities`` per domain, ``documents`` training
    documents per entity (each states all of its facts, templates rotating so that ``documents``
    >= 4 uses every template of every attribute). The same arguments give the same world."""
    if entities < CHOICES:
        raise ValueError(f"entities: at least {CHOICES} per domain (distractors come from the others), got {entities}")
    rng = random.Random(f"facts-world:{GENERATOR_VERSION}:{seed}")
    taken: set[str] = set()
    world = {}
    for domain, attributes in DOMAINS.items():
        people = [_entity(domain, attributes, rng, taken) for _ in range(entities)]
        docs = tuple(_document(entity, attributes, d, rng) for entity in people for d in range(documents))
        probes = tuple(_probe(entity, attribute, people, rng) for entity in people for attribute in attributes)
        world[domain] = Domain(domain, tuple(people), docs, probes)
    return world


def _entity(domain: str, attributes: tuple[_Attribute, ...], rng: random.Random, taken: set[str]) -> Entity:
    name = _new_name(_NAME_FORMS[domain], rng, taken)
    return Entity(domain, name, tuple((attribute, rng.choice(pool)) for attribute, pool, _, _ in attributes))


def _new_name(form: str, rng: random.Random, taken: set[str]) -> str:
    """A name whose every word is new to the world (no two entities share a word, in any domain)."""
    while True:
        if form == "person":
            words = [_word(rng, 2), _word(rng, rng.choice((2, 3)))]
        elif form == "company":
            words = [_word(rng, rng.choice((2, 3))), rng.choice(_COMPANY_SUFFIXES)]
        elif form == "animal":
            words = [_word(rng, 3).lower()]
        else:
            words = [_word(rng, rng.choice((2, 3)))]
        fresh = [w for w in words if w not in _COMPANY_SUFFIXES]
        if all(w.lower() not in taken for w in fresh) and len({w.lower() for w in fresh}) == len(fresh):
            taken.update(w.lower() for w in fresh)
            return " ".join(words)


def _word(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(syllables)).capitalize()


def _document(entity: Entity, attributes: tuple[_Attribute, ...], index: int, rng: random.Random) -> str:
    values = dict(entity.values)
    sentences = [templates[(index + offset) % len(templates)].format(name=entity.name, value=values[attribute])
                 for offset, (attribute, _, templates, _) in enumerate(attributes)]
    rng.shuffle(sentences)
    return " ".join(_sentence(s) for s in sentences)


def _sentence(text: str) -> str:
    return text[0].upper() + text[1:] + "."


def _probe(entity: Entity, attribute: _Attribute, domain: list[Entity], rng: random.Random) -> Probe:
    name, pool, _, template = attribute
    truth = dict(entity.values)[name]
    held = sorted({dict(other.values)[name] for other in domain} - {truth})  # values the training text also teaches
    spare = [v for v in pool if v != truth and v not in held]
    rng.shuffle(held)
    rng.shuffle(spare)
    choices = [truth, *(held + spare)[: CHOICES - 1]]
    rng.shuffle(choices)
    context = _sentence(template.format(name=entity.name, value="\0")).split(" \0", 1)[0]
    return Probe(entity.name, name, context, tuple(choices), choices.index(truth))


def known_words(world: dict[str, Domain], vocabulary: dict[str, int]) -> list[str]:
    """The invented name words that a tokenizer's vocabulary holds as one whole word (``Ġword``, any
    case): words a model may have seen, which an invented entity should not use (none for SmolLM2,
    checked in tests/slow)."""
    invented = [w for d in world.values() for e in d.entities for w in e.name.split() if w not in _COMPANY_SUFFIXES]
    return [w for w in invented if any(f"Ġ{form}" in vocabulary for form in (w, w.lower(), w.capitalize()))]
