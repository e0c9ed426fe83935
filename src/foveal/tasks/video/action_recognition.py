"""Action recognition: what is a stick figure doing across the frames of a video.

Queries about the named figure: its action (`action`), which way it travels (`travel`), whether its
feet leave the ground (`feet`), whether it crouches (`crouch`) and whether it moves its arms (`arms`,
from level 2, where waving and raising arms are possible actions).
"""

from __future__ import annotations

import math
import random
from typing import Any

from PIL import ImageDraw

from foveal.sample import Sample
from foveal.tasks import register
from foveal.tasks.base import Task
from foveal.tasks.draw import canvas, choice_block, letters, rgb
from foveal.tasks.draw import width as line_width
from foveal.tasks.video._video import frames_text, mixed_video

ACTIONS = ("walking right", "walking left", "jumping", "squatting", "waving", "standing still", "raising both arms")
FIG_COLORS = ("red", "blue", "green", "purple", "orange")
TOP_GROUND = 66  # the highest ground line (y, px) that leaves room for a jump
TRAVEL = ("to the right", "to the left", "it stays in place")
YES_NO = ("yes", "no")


def facts(action: str) -> dict[str, str]:
    """The answer option each yes/no or travel query has for `action`."""
    return {"travel": TRAVEL[0] if action == "walking right" else TRAVEL[1] if action == "walking left" else TRAVEL[2],
            "feet": YES_NO[action != "jumping"], "crouch": YES_NO[action != "squatting"],
            "arms": YES_NO[action not in ("waving", "raising both arms")]}


def poses(action: str, frames: int) -> list[dict[str, int]]:
    """Per-frame pose: dx (px from lane centre), lift (px above ground), squat (px the hips drop),
    left/right arm angles in degrees (0 = hanging down, 90 = straight out, 180 = straight up), stride (0/1)."""
    out = []
    for t in range(frames):
        phase = math.sin(math.pi * t / (frames - 1))  # 0 → 1 → 0 over the clip
        p = {"dx": 0, "lift": 0, "squat": 0, "left": 20, "right": 20, "stride": 0}
        if action.startswith("walking"):
            step = 24 // max(1, frames - 1) + 3
            sign = 1 if action.endswith("right") else -1
            p.update(dx=sign * (step * t - step * (frames - 1) // 2), stride=t % 2)
        elif action == "jumping":
            p.update(lift=round(14 * phase), left=60, right=60)
        elif action == "squatting":
            p.update(squat=round(12 * phase))
        elif action == "waving":
            p.update(right=125 if t % 2 == 0 else 165)
        elif action == "raising both arms":
            a = 20 + round(150 * t / (frames - 1))
            p.update(left=a, right=a)
        out.append(p)
    return out


def arm_words(angle: int) -> str:
    return "hanging down" if angle < 45 else "held out sideways" if angle < 110 else "raised diagonally" if angle < 160 else "straight up"


def state(p: dict[str, int]) -> str:
    body = "crouching" if p["squat"] > 3 else "upright"
    feet = f"{p['lift']} px above the ground" if p["lift"] else "on the ground"
    return (f"x = {p['dx']:+d} px from the middle of its lane, {body}, feet {feet}, "
            f"left arm {arm_words(p['left'])}, right arm {arm_words(p['right'])}")


def draw_figure(d: ImageDraw.ImageDraw, cx: float, p: dict[str, int], color: tuple[int, int, int],
                ground: int) -> None:
    x = cx + p["dx"]
    foot_y = ground - p["lift"]
    hip_y = foot_y - 22 + p["squat"]
    knee_dx = 7 if p["squat"] > 3 else 3
    shoulder_y = hip_y - 16
    head_y = shoulder_y - 7
    for side in (-1, 1):  # legs: hip → knee → foot (wider apart on a stride frame)
        spread = 6 + (4 if p["stride"] else 0)
        d.line([(x, hip_y), (x + side * knee_dx, (hip_y + foot_y) / 2), (x + side * spread, foot_y)], fill=color, width=line_width(3))
    d.line([(x, hip_y), (x, shoulder_y)], fill=color, width=line_width(3))
    for side, ang in ((-1, p["left"]), (1, p["right"])):
        a = math.radians(ang)
        d.line([(x, shoulder_y), (x + side * 13 * math.sin(a), shoulder_y + 13 * math.cos(a))], fill=color, width=line_width(3))
    d.ellipse([x - 5, head_y - 5, x + 5, head_y + 5], fill=color)


@register
class ActionRecognition(Task):
    """Stick figures, each in its own lane, perform one action over the frames; name the named figure's action.

    Knobs per level:
        frames: frames shown.
        figures: figures in the video (each doing a different action).
        actions: how many of ACTIONS are possible (the first n).
        options: answer options of `action` (the correct action plus others).
        frame: (width, height) of the frames, split into one lane per figure.
        jitter: each figure's lane middle lies up to this many pixels off its lane's centre, and
            the ground line anywhere from y = 67 to the bottom (both stated in the twin), so a
            level's scenes vary in place as well as in action.
        queries: "action" (what the figure is doing), "travel" (to the right / to the left / stays
            in place), "feet" (do its feet leave the ground: yes / no), "crouch" (does it crouch),
            "arms" (does it move its arms; only where waving or raising arms is possible).
    """

    name = "action_recognition"
    modality = "video"
    description = "Video: recognise a stick figure's action (walk, jump, squat, wave, ...)"
    tags = ("temporal", "perception")
    forms = ("image", "text", "mixed")
    levels = {
        1: {"frames": 3, "figures": 1, "actions": 4, "options": 4, "frame": (112, 100), "jitter": 14,
            "queries": ("action", "travel", "feet", "crouch")},
        2: {"frames": 4, "figures": 1, "actions": 6, "options": 4, "frame": (112, 100), "jitter": 14},
        3: {"frames": 4, "figures": 2, "actions": 6, "options": 5, "frame": (136, 100), "jitter": 6},
        4: {"frames": 5, "figures": 2, "actions": 7, "options": 6, "frame": (136, 100), "jitter": 6},
        5: {"frames": 6, "figures": 3, "actions": 7, "options": 7, "frame": (180, 100), "jitter": 4},
    }
    questions = {
        "action": {
            "direct": "What is {who} doing?",
            "imperative": "Name what {who} is doing.",
            "polite": "Could you tell me what {who} is doing?",
            "terse": "Action of {who}?",
        },
        "travel": {
            "direct": "Which way does {who} travel across the picture?",
            "imperative": "Say which way {who} travels across the picture.",
            "polite": "Could you tell me which way {who} travels across the picture?",
            "terse": "Direction of travel of {who}?",
        },
        "feet": {
            "direct": "Do the feet of {who} leave the ground at any point?",
            "imperative": "Say whether the feet of {who} leave the ground at any point.",
            "polite": "Could you tell me whether the feet of {who} leave the ground at any point?",
            "terse": "Feet of {who} off the ground at any point?",
        },
        "crouch": {
            "direct": "Does {who} crouch at any point?",
            "imperative": "Say whether {who} crouches at any point.",
            "polite": "Could you tell me whether {who} crouches at any point?",
            "terse": "Any crouching by {who}?",
        },
        "arms": {
            "direct": "Does {who} move its arms?",
            "imperative": "Say whether {who} moves its arms.",
            "polite": "Could you tell me whether {who} moves its arms?",
            "terse": "Any arm movement by {who}?",
        },
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        F, n = cfg["frames"], cfg["figures"]
        acts = rng.sample(ACTIONS[: cfg["actions"]], n)
        colors = rng.sample(FIG_COLORS, n)
        figs = [{"color": c, "action": a, "poses": poses(a, F)} for c, a in zip(colors, acts, strict=False)]
        k = rng.randrange(n)
        fig = figs[k]
        if self.query == "action":
            options = [fig["action"]] + rng.sample([a for a in ACTIONS[: cfg["actions"]] if a != fig["action"]], cfg["options"] - 1)
            rng.shuffle(options)
            correct = fig["action"]
        else:
            options, correct = list(TRAVEL if self.query == "travel" else YES_NO), facts(fig["action"])[self.query]
        answer = letters(len(options))[options.index(correct)]
        who = f"the {fig['color']} figure" if n > 1 else "the figure"
        q = f"{self.ask(who=who)}\n{choice_block(options)}\nAnswer with the letter."
        descs = ["; ".join(f"the {f['color']} figure: {state(f['poses'][t])}" for f in figs) for t in range(F)]
        sol = (f"Frame by frame {who} is: " + " → ".join(f"({state(p)})" for p in fig["poses"])
               + f". That is {fig['action']}" + (f", so the answer is \"{correct}\"" if self.query != "action" else "")
               + f". Answer: {answer}.")
        (width, height), jit = cfg["frame"], cfg["jitter"]
        centers = [round(width / n * (i + 0.5)) + rng.randint(-jit, jit) for i in range(n)]
        ground = rng.randint(TOP_GROUND, height - 4)
        lanes = ", ".join(f"the {f['color']} figure's at x = {c} px" for f, c in zip(figs, centers, strict=True))
        context = (f"The frames show stick figures standing on the ground. The frames are {width}×{height} pixels; lane "
                   f"middles (left to right): {lanes}; the ground is the line at y = {ground + 1} px.")
        def frame(t):  # drawn only for forms that show images
            img = canvas(width, height)
            d = ImageDraw.Draw(img)
            d.line([(0, ground + 1), (width, ground + 1)], fill=(120, 120, 120), width=line_width(2))
            for i, f in enumerate(figs):
                draw_figure(d, centers[i], f["poses"][t], rgb(f["color"]), ground)
            return img

        frames = [self.picture(frame, t) for t in range(F)]
        return self.sample(seed, level, prompt=self.image_prompt(f"These are the {F} frames of a short video, in order.\n{q}", F),
                           images=tuple(frames), answer=answer, answer_type="choice", choices=tuple(options),
                           text_twin=f"A short video has {F} frames. {context} {frames_text(descs)}\n{q}",
                           solution=sol, meta={"frame_texts": descs, "context": context, "question_text": q, "figures": figs, "target": k, "frames": F,
                                                "centers": centers, "ground": ground})

    def mixed(self, sample: Sample) -> Sample:
        """The first half of the frames told in words, the second half shown."""
        return mixed_video(sample)
