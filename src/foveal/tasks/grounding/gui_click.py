"""GUI grounding: which element to click on a synthetic screen to reach a goal (UI-R1, InfiGUI-R1)."""

from __future__ import annotations

import random
from typing import Any

from PIL import ImageDraw

from foveal.sample import Sample
from foveal.tasks import register
from foveal.tasks._glyphs import label
from foveal.tasks.base import Task
from foveal.tasks.draw import canvas, choice_block, letters
from foveal.tasks.grounding.locate import BOX_RULE

# goal phrase -> the caption of the button that achieves it
INTENTS = {
    "save your changes": "Save", "confirm and accept": "OK", "close this without doing anything": "Cancel",
    "remove the file for good": "Delete", "get assistance": "Help", "change the preferences": "Settings",
    "return to the previous page": "Back", "continue to the next step": "Next", "look for a file by name": "Search",
    "put the document on paper": "Print", "send the message": "Send", "leave your account": "Log out",
    "put a file onto the server": "Upload", "get a copy onto your computer": "Download",
    "reload the content": "Refresh", "give others access": "Share", "undo the last action": "Undo",
    "create a new item": "Add", "close the window": "Close", "change the text": "Edit",
}
# captions a goal could be read as, kept off the screen together with the goal's own caption
CONFUSABLE = {"Cancel": {"Close"}, "Close": {"Cancel"}, "OK": {"Save"}, "Save": {"OK"}}
TITLES = ("Editor", "Mail", "Files", "Printer", "Account", "Photos", "Notes", "Music")
BTN_W, BTN_H, GAP, TITLE_H = 64, 22, 6, 18
BTN_FILL, BTN_EDGE, TITLE_FILL, FONT = (232, 232, 236), (90, 90, 110), (50, 80, 150), 11


@register
class GuiClick(Task):
    """A screen with one or two windows (title bar + buttons with captions); the goal is stated in
    words ("to save your changes") and the model names the element to click.

    Answer forms: "choice" (every button carries a number badge; pick the element number) or
    "box" (the button's pixel box). With two windows both may have a button with the same caption,
    and the goal names the window, so the caption alone is not enough.
    Queries: "click" (the element that achieves the goal), "find" (the element with a named caption,
    in a named window when there are two; answered like "click"), "caption" (what a button named
    by its badge, or by its box on box levels, says; choice among the captions on screen).
    `meta["about"]` holds the box of the button the question is about; geometry never depends on the
    style.

    Knobs per level:
        windows: 1 or 2.
        buttons: buttons per window.
        answer: "choice" or "box".
        clutter: grey text lines drawn in each window (not clickable).
    """

    name = "gui_click"
    questions = {
        "click": {
            "direct": "Which element should you click{where} to {goal}?",
            "imperative": "Pick the element to click{where} to {goal}.",
            "polite": "Could you tell me which element to click{where} to {goal}?",
            "terse": "Element to click{where} to {goal}?",
        },
        "find": {
            "direct": "Which element is the '{caption}' button{where}?",
            "imperative": "Find the '{caption}' button{where}.",
            "polite": "Could you show me the '{caption}' button{where}?",
            "terse": "The '{caption}' button{where}?",
        },
        "caption": {
            "direct": "What does the button {ref} say?",
            "imperative": "Read the caption of the button {ref}.",
            "polite": "Could you tell me what the button {ref} says?",
            "terse": "Caption of the button {ref}?",
        },
    }
    description = "GUI screen: which button to click for a goal (choice of element or pixel box)"
    tags = ("grounding", "planning")
    levels = {
        1: {"windows": 1, "buttons": 3, "answer": "choice", "clutter": 0},
        2: {"windows": 1, "buttons": 6, "answer": "choice", "clutter": 2},
        3: {"windows": 1, "buttons": 6, "answer": "box", "clutter": 2},
        4: {"windows": 2, "buttons": 4, "answer": "box", "clutter": 1},
        5: {"windows": 2, "buttons": 6, "answer": "box", "clutter": 2},
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        nb, nw = cfg["buttons"], cfg["windows"]
        per_row = min(nb, 3)
        rows = (nb + per_row - 1) // per_row
        width = 2 * GAP + per_row * BTN_W + (per_row - 1) * GAP + 16 + 32
        win_h = TITLE_H + GAP + cfg["clutter"] * 10 + rows * (BTN_H + GAP) + GAP
        height = nw * win_h + (nw + 1) * GAP
        goal = rng.choice(sorted(INTENTS))
        caption = INTENTS[goal]
        titles = rng.sample(TITLES, nw)
        target_win = rng.randrange(nw)
        others = sorted(set(INTENTS.values()) - {caption} - CONFUSABLE.get(caption, set()))
        elements = []
        for w in range(nw):
            caps = rng.sample(others, nb - 1)
            if w == target_win or rng.random() < 0.7:  # the other window usually has the same caption too
                caps.append(caption)
            else:
                caps.append(rng.choice([c for c in others if c not in caps]))
            rng.shuffle(caps)
            y0 = GAP + w * (win_h + GAP) + TITLE_H + GAP + cfg["clutter"] * 10
            dx = rng.randint(0, 32)  # the button block sits anywhere across the window
            for i, cap in enumerate(caps):
                x1 = GAP + 8 + dx + (i % per_row) * (BTN_W + GAP)
                y1 = y0 + (i // per_row) * (BTN_H + GAP)
                elements.append({"window": titles[w], "caption": cap, "box": [x1, y1, x1 + BTN_W - 1, y1 + BTN_H - 1]})
        order = list(range(len(elements)))
        rng.shuffle(order)
        for num, i in enumerate(order, 1):
            elements[i]["number"] = num
        target = next(e for e in elements if e["window"] == titles[target_win] and e["caption"] == caption)
        where = f" in the '{titles[target_win]}' window" if nw > 1 else ""
        query, about = self.query, target
        if query == "click":
            q = self.ask(where=where, goal=goal)
        else:
            about = rng.choice(elements)
            there = f" in the '{about['window']}' window" if nw > 1 else ""
            ref = f"with badge {about['number']}" if cfg["answer"] == "choice" else f"with box {about['box']}"
            q = self.ask(caption=about["caption"], where=there, ref=ref + there)
        screen = f"The screen is {width}×{height} pixels."
        if query == "caption":
            choices = tuple(sorted({e["caption"] for e in elements}))
            answer = letters(len(choices))[choices.index(about["caption"])]
            ask = f"{q}\n{choice_block(list(choices))}\nAnswer with the letter."
        elif cfg["answer"] == "choice":
            choices = tuple(f"element {k}" for k in range(1, len(elements) + 1))
            answer = letters(len(choices))[about["number"] - 1]
            ask = f"{q} Every button carries a number badge.\n{choice_block(list(choices))}\nAnswer with the letter."
        else:
            choices = None
            answer = "[{}, {}, {}, {}]".format(*about["box"])
            ask = f"{q} Answer with the button's bounding box. {BOX_RULE}"
        def say(e: dict[str, Any]) -> str:
            spot = f"button '{e['caption']}'" + (f" (badge {e['number']})" if cfg["answer"] == "choice" else "")
            return spot + (f" with box {e['box']}" if cfg["answer"] == "box" else "")
        listing = " ".join(f"Window '{t}' has: " + "; ".join(say(e) for e in elements if e["window"] == t) + "." for t in titles)
        if query == "click":
            sol = (f"To {goal} the right button is '{caption}'{where}; it is "
                   + (f"element {target['number']}. Answer: {answer}." if choices else f"at {answer}. Answer: {answer}."))
        elif query == "find":
            sol = (f"The '{about['caption']}' button{there} is "
                   + (f"element {about['number']}. Answer: {answer}." if choices else f"at {answer}. Answer: {answer}."))
        else:
            sol = f"The button {ref}{there} reads '{about['caption']}'. Answer: {answer}."
        bars = [[rng.randint(60, width - 3 * GAP - 24) for _ in range(cfg["clutter"])] for _ in titles]
        img = self.picture(self.render, elements, titles, width, height, win_h, cfg["answer"], bars)
        return self.sample(seed, level, prompt=self.image_prompt(f"The image is a screenshot. {screen}\n{ask}"),
                           images=(img,), answer=answer, answer_type="choice" if choices else "box", choices=choices,
                           text_twin=f"A {width}×{height}-pixel screen shows windows with buttons. {listing}\n{ask}", solution=sol,
                           meta={"elements": elements, "goal": goal, "window": titles[target_win], "mode": cfg["answer"],
                                 "width": width, "height": height, "query": query, "about": [about["box"]]})

    @staticmethod
    def render(elements, titles, width, height, win_h, mode, bars):
        img = canvas(width, height, (205, 210, 220))
        d = ImageDraw.Draw(img)
        for w, t in enumerate(titles):
            y = GAP + w * (win_h + GAP)
            d.rectangle([GAP, y, width - GAP - 1, y + win_h - 1], fill=(250, 250, 250), outline=(120, 120, 130))
            d.rectangle([GAP, y, width - GAP - 1, y + TITLE_H - 1], fill=TITLE_FILL)
            label(img, (GAP + 6, y + TITLE_H / 2), t, size=FONT, fill=(255, 255, 255), anchor="lm")
            for k, length in enumerate(bars[w]):
                yy = y + TITLE_H + GAP + k * 10 + 3
                d.rectangle([GAP + 8, yy, GAP + 8 + length, yy + 3], fill=(200, 200, 200))
        for e in elements:
            x1, y1, x2, y2 = e["box"]
            d.rectangle([x1, y1, x2, y2], fill=BTN_FILL, outline=BTN_EDGE)
            label(img, ((x1 + x2) / 2, (y1 + y2) / 2 + 1), e["caption"], size=FONT)
            if mode == "choice":
                d.rectangle([x1 - 4, y1 - 4, x1 + 7, y1 + 7], fill=(200, 30, 30))
                label(img, (x1 + 2, y1 + 2), str(e["number"]), size=10, fill=(255, 255, 255))
        return img
