"""Event order: put the events of a short video in the order they happen (T3 / SEED-Bench-R1 temporal order).

Queries about the listed events: their order (`order`, a sequence), which happens first (`first`)
or last (`last`), and in which frame a named one happens (`when`, a number).
"""

from __future__ import annotations

import random
from typing import Any

from foveal.sample import Sample
from foveal.tasks import register
from foveal.tasks.base import Task
from foveal.tasks.draw import choice_block, letters
from foveal.tasks.video._video import at, frames_text, grid_frame, grid_note, mixed_video, put

SHAPES = ("circle", "square", "triangle", "star", "diamond", "hexagon")
PCOLORS = ("red", "blue", "green", "yellow", "purple", "orange")


def state(o: dict[str, Any], t: int) -> tuple[bool, str]:
    """(visible, colour) of object `o` in frame t (0-based)."""
    ev, when = o.get("event"), o.get("t", 0)
    if ev == "appears":
        return t >= when, o["color"]
    if ev == "disappears":
        return t < when, o["color"]
    if ev == "turns":
        return True, o["new_color"] if t >= when else o["color"]
    return True, o["color"]


def event_text(o: dict[str, Any]) -> str:
    if o["event"] == "turns":
        return f"the {o['color']} {o['shape']} turns {o['new_color']}"
    return f"{'a' if o['event'] == 'appears' else 'the'} {o['color']} {o['shape']} {o['event']}"


@register
class EventOrder(Task):
    """Objects on a grid; over the frames some appear, disappear or change colour, each at its own frame.
    The question lists the events in a shuffled order; answer their numbers in the order they happen.

    Knobs per level:
        frames: number of frames (one image each).
        events: events to order (each at a different frame).
        static: unchanging distractor objects.
        g, size: grid cells per side and frame size in pixels.
        queries: "order" (the listed events' numbers in time order), "first" / "last" (which
            listed event happens first / last; choice), "when" (the frame a named event happens in,
            i.e. the first frame that shows it; number).
    """

    name = "event_order"
    modality = "video"
    description = "Video: order the listed events (appear / disappear / change colour) in time"
    tags = ("temporal", "perception")
    forms = ("image", "text", "mixed")
    levels = {
        1: {"frames": 3, "events": 2, "static": 1, "g": 4, "size": 96},
        2: {"frames": 4, "events": 3, "static": 1, "g": 4, "size": 96},
        3: {"frames": 5, "events": 3, "static": 2, "g": 5, "size": 104},
        4: {"frames": 6, "events": 4, "static": 3, "g": 5, "size": 112},
        5: {"frames": 8, "events": 5, "static": 3, "g": 6, "size": 120},
    }
    questions = {
        "order": {
            "direct": "Number these events by when they happen:",
            "imperative": "Put these events in the order they happen:",
            "polite": "Could you put these events in the order they happen?",
            "terse": "Events, in order of time:",
        },
        "first": {
            "direct": "Which of these events happens first?",
            "imperative": "Name the event that happens first.",
            "polite": "Could you tell me which of these events happens first?",
            "terse": "First event?",
        },
        "last": {
            "direct": "Which of these events happens last?",
            "imperative": "Name the event that happens last.",
            "polite": "Could you tell me which of these events happens last?",
            "terse": "Last event?",
        },
        "when": {
            "direct": "In which frame does this happen: {event}?",
            "imperative": "Give the frame in which this happens: {event}.",
            "polite": "Could you tell me in which frame this happens: {event}?",
            "terse": "Frame of the event \"{event}\"?",
        },
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        g, F, k = cfg["g"], cfg["frames"], cfg["events"]
        n = k + cfg["static"]
        combos = rng.sample([(c, s) for c in PCOLORS for s in SHAPES], n)
        cells = rng.sample([(c, r) for c in range(g) for r in range(g)], n)
        times = sorted(rng.sample(range(1, F), k))
        objs = [{"color": col, "shape": sh, "cell": list(cell)} for (col, sh), cell in zip(combos, cells, strict=False)]
        used = set(combos)
        for o, t in zip(objs[:k], rng.sample(times, k), strict=False):
            free = [c for c in PCOLORS if (c, o["shape"]) not in used]  # a new colour must not copy another object
            o["event"], o["t"] = rng.choice(("appears", "disappears", "turns") if free else ("appears", "disappears")), t
            if o["event"] == "turns":
                o["new_color"] = rng.choice(free)
                used.add((o["new_color"], o["shape"]))
        events = objs[:k]
        listed = rng.sample(events, k)
        chrono = sorted(events, key=lambda o: o["t"])
        answer_type, choices, asked = "sequence", None, None
        if self.query == "order":
            answer = " ".join(str(listed.index(o) + 1) for o in chrono)
            q = (self.ask() + "\n" + "\n".join(f"{i + 1}. {event_text(o)}" for i, o in enumerate(listed))
                 + "\nAnswer with the event numbers in the order the events happen, separated by spaces (e.g. \"2 1 3\").")
        elif self.query == "when":
            asked = rng.randrange(k)
            answer_type, answer = "number", str(listed[asked]["t"] + 1)
            q = self.ask(event=event_text(listed[asked])) + " Answer with the frame number, counting frames from 1."
        else:
            pick = chrono[0 if self.query == "first" else -1]
            choices = tuple(event_text(o) for o in listed)
            answer_type, answer = "choice", letters(k)[listed.index(pick)]
            q = f"{self.ask()}\n{choice_block(list(choices))}\nAnswer with the letter."
        descs = []
        for t in range(F):
            seen = [f"{state(o, t)[1]} {o['shape']} at {at(*o['cell'])}" for o in objs if state(o, t)[0]]
            descs.append(", ".join(seen) if seen else "nothing")
        sol = ("Comparing consecutive frames: " + "; ".join(f"{event_text(o)} in frame {o['t'] + 1}" for o in chrono)
               + (f". So the order is {answer}" if self.query == "order" else "") + f". Answer: {answer}.")
        def frame(t):  # drawn only for forms that show images
            img, d, cell = grid_frame(cfg["size"], g)
            for o in objs:
                vis, col = state(o, t)
                if vis:
                    put(d, o["shape"], col, *o["cell"], cell)
            return img

        frames = [self.picture(frame, t) for t in range(F)]
        context = grid_note(g)
        return self.sample(seed, level, prompt=self.image_prompt(f"These are the {F} frames of a short video, in order.\n{q}", F),
                           images=tuple(frames), answer=answer, answer_type=answer_type, choices=choices,
                           text_twin=f"A short video has {F} frames. {context} {frames_text(descs)}\n{q}", solution=sol,
                           meta={"frame_texts": descs, "context": context, "question_text": q, "objects": objs, "listed": [objs.index(o) for o in listed], "asked": asked, "g": g, "frames": F, "size": cfg["size"]})

    def mixed(self, sample: Sample) -> Sample:
        """The first half of the frames told in words, the second half shown."""
        return mixed_video(sample)
