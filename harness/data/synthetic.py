"""Synthetic episodes in the style of Android in the Wild (AitW), for runs without real data.

A small, fixed world (a home screen, an app drawer, quick settings and eight apps with a few
screens each) and a table of goal scripts. An episode draws a goal, its parameters (the query
to type, the alarm time, ...) and a start screen, then plays the script; each step records the
text prompt an AitW agent would see and the action a person would take.

Why it is built this way:

- Every element of a screen sits at a FIXED place (plus a few pixels of per-episode jitter), so
  tap coordinates are learnable from text: "Compose" on the Gmail inbox is always in the same
  corner, as on a real phone.
- The prompt carries no coordinates, yet the action is a function of the prompt: the goal, the
  screen (title and element texts) and the previous action decide it, and a tap's target text
  is always among the listed elements. A model that reads the prompt well can get every head
  right, so differences between designs are differences in learning, not label noise.
- The action mix is close to AitW's: taps about half the steps, then STATUS_TASK_COMPLETE
  (one per feasible episode), swipes, TYPE, PRESS_HOME, PRESS_ENTER, PRESS_BACK and a few
  STATUS_TASK_IMPOSSIBLE.

The world is laid out on a 1080 x 2400 reference screen and scaled to the requested one. Pixel
data are whole pixels; normalized data are exactly those pixels divided by the screen width (x)
and height (y), so both unit systems describe the same episodes.

API: :func:`generate` builds a :class:`~harness.data.types.Dataset`; :func:`parse_prompt`
splits a prompt back into goal, screen title, previous action and elements.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from typing import NamedTuple

from harness import actions
from harness.data import prompts
from harness.data.types import PIXEL, UNITS, Dataset, Step, Units
from harness.errors import DataError

#: The screen the world is laid out on; other screen sizes get the same layout scaled.
REFERENCE_SCREEN = (1080, 2400)
#: Per-episode displacement of each element, in reference pixels (another status bar height,
#: font scale or device). Gaps between neighbouring elements are wider than twice this, so a
#: jittered element never lands on its neighbour.
ELEMENT_JITTER = 6
#: A tap lands at the element's centre plus up to this fraction of its width and height.
TAP_JITTER = 0.15
#: AitW-like episode length limit (an app's start-up pop-up is skipped where it would exceed it).
MAX_STEPS = 10


# =========================================================================== the world: screens

class Element(NamedTuple):
    """One UI element: AitW ui type, text (may hold ``{slot}`` fields), box ``[x, y, w, h]``
    in reference pixels."""

    ui: str
    text: str
    box: tuple[int, int, int, int]


@dataclass(frozen=True)
class Screen:
    app: str
    title: str
    elements: tuple[Element, ...]


def _el(ui: str, text: str, x: int, y: int, w: int, h: int) -> Element:
    return Element(ui, text, (x, y, w, h))


def _row(text: str, y: int, ui: str = "TEXT", h: int = 130) -> Element:
    """A full-width list row (settings entries, e-mails, suggestions)."""
    return Element(ui, text, (40, y, 1000, h))


def _rows(names, top: int, step: int, h: int = 130, ui: str = "TEXT") -> tuple[Element, ...]:
    return tuple(_row(n, top + step * i, ui=ui, h=h) for i, n in enumerate(names))


def _tabs(names, y: int = 2120) -> tuple[Element, ...]:
    """A tab bar: equal cells across the screen width."""
    cell = 1080 // len(names)
    return tuple(Element("TEXT", n, (i * cell + 10, y, cell - 20, 120))
                 for i, n in enumerate(names))


#: App icon types: AitW's icon classes, chosen by look.
APP_ICONS = {
    "Calendar": "ICON_CALENDAR", "Camera": "ICON_TAKE_PHOTO", "Chrome": "ICON_COMPASS",
    "Clock": "ICON_TIME", "Contacts": "ICON_CONTACTS", "Drive": "ICON_CLOUD",
    "Files": "ICON_LIST", "Gmail": "ICON_ENVELOPE", "Google": "ICON_GOOGLE",
    "Keep Notes": "ICON_EDIT", "Maps": "ICON_LOCATION", "Messages": "ICON_CHAT",
    "News": "ICON_INFO", "Phone": "ICON_CALL", "Photos": "ICON_STAR", "Play Store": "ICON_PLAY",
    "Podcasts": "ICON_MIC", "Recorder": "ICON_MIC", "Settings": "ICON_SETTINGS",
    "Sheets": "ICON_LIST", "Translate": "ICON_GOOGLE", "Wallet": "ICON_PEOPLE",
    "Weather": "ICON_SUN", "YouTube": "ICON_PLAY", "YouTube Music": "ICON_PLAY",
}


def _icons(names, top: int) -> tuple[Element, ...]:
    """A row of app icons on the launcher's four-column grid (140 x 140 px each)."""
    return tuple(Element(APP_ICONS[n], n, (65 + 270 * i, top, 140, 140))
                 for i, n in enumerate(names))


def _dial(labels, top: int = 960, centre_x: int = 540, radius: int = 330) -> tuple[Element, ...]:
    """The face of the time picker: twelve labels on a circle, clockwise, the last at the top."""
    out = []
    for i, label in enumerate(labels, start=1):
        angle = math.radians(i * 30)
        cx = centre_x + radius * math.sin(angle)
        cy = top + 55 + radius - radius * math.cos(angle)
        out.append(Element("TEXT", label, (round(cx) - 55, round(cy) - 55, 110, 110)))
    return tuple(out)


NAV_BAR = (
    _el("ICON_V_BACKWARD", "", 210, 2290, 100, 100),
    _el("ICON_NAV_BAR_CIRCLE", "", 490, 2290, 100, 100),
    _el("ICON_NAV_BAR_RECT", "", 770, 2290, 100, 100),
)
BACK_ARROW = _el("ICON_ARROW_BACKWARD", "", 30, 140, 110, 110)
CLOCK_TABS = _tabs(("Alarm", "Clock", "Timer", "Stopwatch", "Bedtime"))
YOUTUBE_TABS = _tabs(("Home", "Shorts", "Subscriptions", "Library"))
MAPS_TABS = _tabs(("Explore", "Go", "Saved", "Contribute", "Updates"))
PLAY_TABS = _tabs(("Games", "Apps", "Offers", "Books"))
HOURS = tuple(str(h) for h in range(1, 13))
MINUTES = ("05", "10", "15", "20", "25", "30", "35", "40", "45", "50", "55", "00")
RINGTONES = ("The big adventure", "Beep-Beep", "Chime Time", "Copycat", "Crackle", "Flutterby",
             "Hey hey", "Spaceship", "Zen too")


# ---------------------------------------------------------------- screen templates
# Screens that exist in several states (before and after typing, a snackbar shown, ...) are
# built by one function, so that what stays put provably stays put.

def _search_page(placeholder: str, recent) -> tuple[Element, ...]:
    """An app's search page before typing: back arrow, empty field, mic, recent searches."""
    return (BACK_ARROW, _el("TEXT", placeholder, 160, 140, 700, 110),
            _el("ICON_MIC", "", 900, 140, 110, 110), *_rows(recent, 330, 150, h=120), *NAV_BAR)


def _typed_page(suggestions) -> tuple[Element, ...]:
    """The same page after typing: the field shows the query, suggestions below."""
    return (BACK_ARROW, _el("TEXT", "{query}", 160, 140, 700, 110),
            _el("ICON_X", "", 900, 140, 110, 110), *_rows(suggestions, 330, 150, h=120),
            *NAV_BAR)


def _popup(heading: str, body: str, left: str, right: str) -> tuple[Element, ...]:
    """A dialog over a dimmed app: heading, one line of text, two buttons."""
    return (_el("TEXT", heading, 120, 820, 840, 160), _el("TEXT", body, 120, 1010, 840, 200),
            _el("BUTTON", left, 160, 1300, 360, 120), _el("BUTTON", right, 560, 1300, 360, 120),
            *NAV_BAR)


def _web_page(*bottom: Element) -> tuple[Element, ...]:
    return (_el("ICON_HOME", "", 30, 140, 110, 110), _el("TEXT", "{query}", 160, 140, 640, 110),
            _el("ICON_THREE_DOTS", "", 950, 150, 90, 90),
            _el("ICON_THREE_BARS", "Menu", 40, 320, 200, 110),
            _el("TEXT", "Sign in", 800, 320, 220, 110),
            _el("TEXT", "Top stories", 60, 520, 960, 500), *bottom, *NAV_BAR)


def _inbox(*snackbar: Element) -> tuple[Element, ...]:
    mails = ("Google, Security alert", "Amazon.com, Your order has shipped",
             "LinkedIn, You appeared in 9 searches", "Alice Chen, Lunch on Friday?",
             "Medium Daily Digest, Top stories")
    # A snackbar covers the lower part of the list.
    shown = mails[:3] if snackbar else mails
    return (_el("ICON_THREE_BARS", "", 40, 150, 100, 100),
            _el("TEXT", "Search in mail", 160, 140, 720, 120),
            _el("ICON_PERSON", "", 930, 150, 100, 100), _el("TEXT", "Primary", 60, 320, 300, 80),
            *_rows(shown, 440, 200, h=180), *snackbar,
            _el("BUTTON", "Compose", 620, 1940, 400, 150), *_tabs(("Mail", "Meet"), 2130),
            *NAV_BAR)


def _compose(to: str, subject: str, body: str) -> tuple[Element, ...]:
    return (BACK_ARROW, _el("TEXT", "Compose", 160, 140, 400, 110),
            _el("ICON_PAPERCLIP", "", 760, 140, 110, 110),
            _el("ICON_SEND", "Send", 900, 140, 120, 110), _row("From: me@gmail.com", 300, h=120),
            _row(to, 440, h=120), _row(subject, 580, h=120), _row(body, 720, h=400), *NAV_BAR)


def _alarms(*added: Element) -> tuple[Element, ...]:
    return (_el("ICON_THREE_DOTS", "", 950, 150, 100, 100),
            _el("TEXT", "6:30 AM", 60, 330, 500, 160), _el("TEXT", "Weekdays", 60, 500, 400, 80),
            _el("SWITCH", "", 850, 360, 160, 100),
            _el("TEXT", "8:30 AM", 60, 680, 500, 160), _el("TEXT", "Sat, Sun", 60, 850, 400, 80),
            _el("SWITCH", "", 850, 710, 160, 100), *added,
            _el("ICON_PLUS", "Add alarm", 460, 1880, 160, 160), *CLOCK_TABS, *NAV_BAR)


def _time_picker(labels) -> tuple[Element, ...]:
    return (_el("TEXT", "Select time", 80, 420, 500, 90),
            _el("TEXT", "{picked}", 120, 580, 620, 200),
            _el("BUTTON", "AM", 820, 580, 180, 90), _el("BUTTON", "PM", 820, 690, 180, 90),
            *_dial(labels), _el("BUTTON", "Cancel", 460, 1800, 240, 110),
            _el("BUTTON", "OK", 760, 1800, 240, 110), *NAV_BAR)


def _month(month: str, *events: Element) -> tuple[Element, ...]:
    return (_el("ICON_THREE_BARS", "", 40, 150, 100, 100), _el("TEXT", month, 160, 150, 440, 100),
            _el("ICON_MAGNIFYING_GLASS", "", 720, 150, 100, 100),
            _el("ICON_CALENDAR", "Today", 850, 150, 170, 100), *events,
            _el("ICON_PLUS", "Create", 860, 1940, 160, 160), *NAV_BAR)


AUGUST_EVENTS = (_el("TEXT", "Team sync, Tue 9", 160, 700, 440, 80),
                 _el("TEXT", "Gym, Thu 11", 600, 1000, 420, 80),
                 _el("TEXT", "Rent due, Mon 15", 60, 1300, 440, 80))


def _event_editor(title: str) -> tuple[Element, ...]:
    return (_el("ICON_X", "", 40, 140, 100, 100), _el("BUTTON", "Save", 820, 140, 200, 100),
            _el("TEXT", title, 140, 320, 880, 140), _el("TEXT", "All-day", 140, 560, 500, 100),
            _el("SWITCH", "", 860, 560, 160, 100),
            _el("TEXT", "Mon, Aug 8, 2022", 140, 720, 500, 100),
            _el("TEXT", "10:00 AM", 760, 720, 260, 100),
            _el("TEXT", "11:00 AM", 760, 860, 260, 100),
            _row("Add people", 1060, h=110), _row("Add location", 1220, h=110), *NAV_BAR)


def _app_page(*status: Element) -> tuple[Element, ...]:
    return (BACK_ARROW, _el("TEXT", "{query}", 160, 140, 700, 110),
            _el("ICON_PLAY", "", 60, 330, 220, 220), _el("TEXT", "{title}", 320, 340, 700, 100),
            _el("TEXT", "{developer}", 320, 450, 500, 80), *status,
            _el("TEXT", "About this app", 60, 1100, 600, 100), *NAV_BAR)


def _settings_page(title: str, *rows: Element) -> tuple[Element, ...]:
    return (BACK_ARROW, _el("TEXT", title, 160, 150, 800, 100), *rows, *NAV_BAR)


#: Initial state of everything a goal can change; screens show it through ``{slot}`` fields.
DEFAULT_STATE = {
    "bluetooth": "on", "flashlight": "off", "dnd": "off", "airplane": "off", "saver": "off",
    "rotate": "off", "location": "on", "hotspot": "off", "wifi": "off", "dark": "off",
    "timeout": "30 seconds", "ringtone": RINGTONES[0], "picked": "--:--", "liked": "Like",
    "subscribe": "Subscribe",
}

SCREENS: dict[str, Screen] = {
    # ---------------------------------------------------------------- launcher
    "home": Screen("Home", "home screen", (
        _el("TEXT", "Mon, Aug 8", 80, 200, 460, 100),
        _el("TEXT", "Sunny, 72 F", 640, 200, 360, 100),
        *_icons(("Play Store", "Gmail", "Photos", "YouTube"), 1420),
        *_icons(("Phone", "Messages", "Chrome", "Camera"), 1780),
        _el("ICON_GOOGLE", "", 70, 2090, 110, 110),
        _el("TEXT", "Search", 200, 2100, 620, 90),
        _el("ICON_MIC", "", 860, 2090, 110, 110),
        *NAV_BAR)),
    "drawer": Screen("Home", "app drawer", (
        _el("TEXT", "Search your phone and more", 80, 150, 920, 120),
        *_icons(("Calendar", "Camera", "Chrome", "Clock"), 400),
        *_icons(("Contacts", "Drive", "Files", "Gmail"), 720),
        *_icons(("Google", "Keep Notes", "Maps", "Messages"), 1040),
        *_icons(("News", "Phone", "Photos", "Play Store"), 1360),
        *NAV_BAR)),
    "drawer_end": Screen("Home", "app drawer, end of list", (
        *_icons(("Podcasts", "Recorder", "Settings", "Sheets"), 300),
        *_icons(("Translate", "Wallet", "Weather", "YouTube"), 620),
        *_icons(("YouTube Music",), 940),
        *NAV_BAR)),
    "quick_settings": Screen("Home", "quick settings", (
        _el("TEXT", "Mon, Aug 8", 60, 90, 420, 90),
        _el("ICON_SETTINGS", "", 930, 90, 100, 100),
        _el("ICON_SUN", "Brightness", 60, 240, 960, 110),
        _el("TEXT", "Bluetooth, {bluetooth}", 60, 420, 460, 180),
        _el("TEXT", "Flashlight, {flashlight}", 560, 420, 460, 180),
        _el("TEXT", "Do Not Disturb, {dnd}", 60, 640, 460, 180),
        _el("TEXT", "Airplane mode, {airplane}", 560, 640, 460, 180),
        _el("TEXT", "Battery Saver, {saver}", 60, 860, 460, 180),
        _el("TEXT", "Auto-rotate, {rotate}", 560, 860, 460, 180),
        _el("TEXT", "Location, {location}", 60, 1080, 460, 180),
        _el("TEXT", "Hotspot, {hotspot}", 560, 1080, 460, 180),
        _el("ICON_EDIT", "Edit", 60, 1320, 200, 100),
        *NAV_BAR)),

    # ---------------------------------------------------------------- Google (home search bar)
    "google_search": Screen("Google", "Google search page", _search_page(
        "Search", ("world cup schedule", "stock market today", "new phone release date"))),
    "google_typed": Screen("Google", "Google search page", _typed_page(
        ("{query} reddit", "{query} review", "{query} videos"))),
    "google_results": Screen("Google", "Google search results", (
        _el("ICON_GOOGLE", "", 40, 130, 120, 120),
        _el("TEXT", "{query}", 60, 280, 960, 130),
        *_tabs(("All", "Images", "News", "Videos", "Maps"), 440),
        _row("Top results for {query}", 620, h=110),
        _el("TEXT", "People also ask", 60, 1150, 600, 100),
        _row("Related searches", 1700, h=110),
        *NAV_BAR)),

    # ---------------------------------------------------------------- Chrome
    "chrome_main": Screen("Chrome", "Chrome new tab", (
        _el("ICON_HOME", "", 30, 140, 110, 110),
        _el("TEXT", "Search or type web address", 160, 140, 640, 110),
        _el("TEXT", "2", 830, 150, 90, 90),
        _el("ICON_THREE_DOTS", "", 950, 150, 90, 90),
        _el("ICON_GOOGLE", "Google", 290, 480, 500, 170),
        *_icons(("YouTube", "Gmail", "Maps", "Drive"), 800),
        _el("TEXT", "Discover", 60, 1120, 400, 90),
        _el("TEXT", "Top stories for you", 60, 1260, 960, 420),
        *NAV_BAR)),
    "chrome_search": Screen("Chrome", "Chrome search page", _search_page(
        "Search or type web address",
        ("Trending searches", "weather radar", "recipes for dinner"))),
    "chrome_typed": Screen("Chrome", "Chrome search page", _typed_page(
        ("https://www.{query}", "{query} login", "{query} news"))),
    "chrome_page": Screen("Chrome", "Chrome web page", _web_page(
        _el("BUTTON", "Accept all cookies", 60, 1900, 960, 130))),
    "chrome_page_accepted": Screen("Chrome", "Chrome web page", _web_page(
        _el("TEXT", "Latest news", 60, 1100, 960, 500))),
    "chrome_tabs": Screen("Chrome", "Chrome tabs", (
        _el("ICON_PLUS", "New tab", 40, 140, 300, 110),
        _el("TEXT", "2 tabs", 420, 140, 240, 110),
        _el("TEXT", "Done", 860, 140, 180, 110),
        _el("TEXT", "Google", 40, 330, 480, 700),
        _el("TEXT", "Wikipedia", 560, 330, 480, 700),
        _el("ICON_X", "", 420, 340, 90, 90),
        _el("ICON_X", "", 940, 340, 90, 90),
        *NAV_BAR)),

    # ---------------------------------------------------------------- Gmail
    "gmail_inbox": Screen("Gmail", "Gmail inbox", _inbox()),
    "gmail_sent": Screen("Gmail", "Gmail inbox", _inbox(
        _el("TEXT", "Message sent", 60, 1780, 500, 110),
        _el("BUTTON", "Undo", 820, 1780, 200, 110))),
    # The compose screen opens with the cursor in "To"; each field shows what was typed.
    "gmail_compose": Screen("Gmail", "Gmail compose", _compose("To", "Subject", "Compose email")),
    "gmail_compose_to": Screen("Gmail", "Gmail compose", _compose(
        "To: {to}", "Subject", "Compose email")),
    "gmail_compose_subject": Screen("Gmail", "Gmail compose", _compose(
        "To: {to}", "Subject: {subject}", "Compose email")),
    "gmail_compose_done": Screen("Gmail", "Gmail compose", _compose(
        "To: {to}", "Subject: {subject}", "{body}")),
    "gmail_search": Screen("Gmail", "Gmail search page", _search_page(
        "Search in mail", ("invoice", "from:boss", "photos"))),
    "gmail_typed": Screen("Gmail", "Gmail search page", _typed_page(
        ("{query} pdf", "{query} 2022", "{query} attachment"))),
    "gmail_results": Screen("Gmail", "Gmail search results", (
        BACK_ARROW,
        _el("TEXT", "{query}", 160, 140, 720, 110),
        *_tabs(("Label", "From", "To", "Attachment"), 300),
        _row("3 results for {query}", 480, h=100),
        _row("Inbox, {query}", 620, h=180),
        _row("Updates, {query}", 820, h=180),
        *NAV_BAR)),
    "gmail_message": Screen("Gmail", "Gmail message", (
        BACK_ARROW,
        _el("ICON_DELETE", "", 700, 140, 110, 110),
        _el("ICON_THREE_DOTS", "", 940, 140, 100, 110),
        _row("{query}", 320, h=140),
        _el("ICON_PERSON", "", 60, 520, 110, 110),
        _el("TEXT", "notifications@example.com", 200, 520, 700, 110),
        _row("Hello, here are the details you asked for.", 700, h=400),
        _el("BUTTON", "Reply", 60, 1900, 460, 130),
        _el("BUTTON", "Forward", 560, 1900, 460, 130),
        *NAV_BAR)),
    "gmail_menu": Screen("Gmail", "Gmail menu", (
        _el("TEXT", "Gmail", 60, 140, 300, 110),
        *_rows(("All inboxes", "Primary", "Starred", "Snoozed", "Sent", "Drafts", "Spam",
                "Trash", "Settings"), 320, 160, h=120),
        *NAV_BAR)),

    # ---------------------------------------------------------------- Settings
    # Android 12 Settings: a large collapsing title, so the first page shows six entries and
    # the others need one or two scrolls.
    "settings_main": Screen("Settings", "Settings", (
        _el("TEXT", "Settings", 60, 380, 600, 160),
        _el("ICON_PERSON", "", 900, 580, 120, 120),
        _el("TEXT", "Search settings", 60, 720, 960, 130),
        *_rows(("Network & internet", "Connected devices", "Apps", "Notifications", "Battery",
                "Storage"), 900, 200, h=150),
        *NAV_BAR)),
    "settings_middle": Screen("Settings", "Settings, scrolled down", (
        *_rows(("Sound & vibration", "Display", "Wallpaper & style", "Accessibility",
                "Security", "Privacy", "Location", "Safety & emergency", "Passwords & accounts",
                "Digital Wellbeing"), 150, 200, h=150),
        *NAV_BAR)),
    "settings_end": Screen("Settings", "Settings, end of list", (
        *_rows(("Passwords & accounts", "Digital Wellbeing", "Google", "System", "About phone",
                "Tips & support"), 800, 200, h=150),
        *NAV_BAR)),
    "settings_network": Screen("Settings", "Network & internet", _settings_page(
        "Network & internet",
        *_rows(("Internet", "Calls & SMS", "SIMs", "Airplane mode", "Private DNS",
                "Hotspot & tethering", "Data Saver", "VPN"), 450, 170))),
    "settings_internet": Screen("Settings", "Internet", _settings_page(
        "Internet",
        _row("Wi-Fi, {wifi}", 400, ui="SWITCH"),
        *_rows(("T-Mobile, 5G", "Add network", "Saved networks", "Network preferences",
                "Data usage"), 600, 200))),
    "settings_display": Screen("Settings", "Display", _settings_page(
        "Display",
        _row("Brightness level", 450),
        _row("Adaptive brightness", 620),
        _row("Dark theme, {dark}", 790, ui="SWITCH"),
        _row("Screen timeout, {timeout}", 960),
        *_rows(("Font size and text", "Display size", "Auto-rotate screen"), 1130, 170))),
    "settings_timeout": Screen("Settings", "Screen timeout", _settings_page(
        "Screen timeout",
        *_rows(("15 seconds", "30 seconds", "1 minute", "2 minutes", "5 minutes", "10 minutes",
                "30 minutes"), 400, 170, ui="RADIO"))),
    "settings_sound": Screen("Settings", "Sound & vibration", _settings_page(
        "Sound & vibration",
        *_rows(("Media volume", "Call volume", "Ring & notification volume", "Do Not Disturb",
                "Phone ringtone, {ringtone}", "Default notification sound",
                "Default alarm sound"), 400, 170))),
    "settings_ringtone": Screen("Settings", "Phone ringtone", _settings_page(
        "Current: {ringtone}",
        *_rows(RINGTONES, 330, 170, ui="RADIO"),
        _el("BUTTON", "Save", 760, 2000, 260, 120))),
    "settings_connected": Screen("Settings", "Connected devices", _settings_page(
        "Connected devices",
        _el("TEXT", "Previously connected devices", 60, 400, 800, 90),
        _row("Pixel Buds", 520),
        _row("Car audio", 690),
        _row("Pair new device", 900, ui="ICON_PLUS"),
        _row("Connection preferences", 1070))),
    "settings_pair": Screen("Settings", "Pair new device", _settings_page(
        "Pair new device",
        _row("Device name, Pixel 6", 400),
        _el("TEXT", "Available devices", 60, 620, 600, 90),
        _row("JBL Flip 5", 740),
        _row("Galaxy Buds2", 910),
        _el("TEXT", "Searching for devices", 60, 1120, 700, 90))),
    "settings_about": Screen("Settings", "About phone", _settings_page(
        "About phone",
        *_rows(("Device name, Pixel 6", "Phone number, (650) 555-0134", "Android version, 13",
                "Model, Pixel 6", "IP address", "Build number, TQ1A.230105.002"), 450, 170))),
    "settings_battery": Screen("Settings", "Battery", _settings_page(
        "Battery",
        _el("TEXT", "87%", 60, 400, 300, 160),
        *_rows(("Battery usage", "Battery Saver", "Adaptive Battery"), 700, 170),
        _row("Battery percentage", 1210, ui="SWITCH"))),

    # ---------------------------------------------------------------- Clock
    "clock_alarms": Screen("Clock", "Clock alarms", _alarms()),
    "clock_alarm_added": Screen("Clock", "Clock alarms", _alarms(
        _el("TEXT", "{picked}", 60, 1030, 500, 160),
        _el("TEXT", "Tomorrow", 60, 1200, 400, 80),
        _el("SWITCH", "", 850, 1060, 160, 100))),
    # The picker shows the hour dial first and switches to minutes once an hour is picked.
    "clock_picker": Screen("Clock", "Clock select time, hours", _time_picker(HOURS)),
    "clock_picker_minutes": Screen("Clock", "Clock select time, minutes", _time_picker(MINUTES)),
    "clock_timer": Screen("Clock", "Clock timer", (
        _el("TEXT", "00h 00m 00s", 140, 380, 800, 200),
        *(_el("TEXT", str(d), 170 + 290 * ((d - 1) % 3), 700 + 230 * ((d - 1) // 3), 160, 160)
          for d in range(1, 10)),
        _el("TEXT", "00", 170, 1390, 160, 160),
        _el("TEXT", "0", 460, 1390, 160, 160),
        _el("ICON_X", "", 750, 1390, 160, 160),
        *CLOCK_TABS,
        *NAV_BAR)),

    # ---------------------------------------------------------------- YouTube
    "youtube_home": Screen("YouTube", "YouTube home", (
        _el("ICON_PLAY", "YouTube", 40, 140, 300, 110),
        _el("ICON_NOTIFICATIONS", "", 700, 140, 110, 110),
        _el("ICON_MAGNIFYING_GLASS", "Search", 820, 140, 110, 110),
        _el("ICON_PERSON", "", 950, 150, 90, 90),
        *_tabs(("All", "Music", "Gaming", "Live"), 300),
        _el("ICON_PLAY", "", 0, 460, 1080, 600),
        _row("Relaxing jazz piano - 3 hours", 1080, h=120),
        _el("ICON_PLAY", "", 0, 1260, 1080, 600),
        _row("Top 10 goals of the season", 1880, h=110),
        *YOUTUBE_TABS,
        *NAV_BAR)),
    "youtube_search": Screen("YouTube", "YouTube search page", _search_page(
        "Search YouTube", ("minecraft", "asmr", "podcast clips"))),
    "youtube_typed": Screen("YouTube", "YouTube search page", _typed_page(
        ("{query} live", "{query} 1 hour", "{query} playlist"))),
    "youtube_results": Screen("YouTube", "YouTube search results", (
        BACK_ARROW,
        _el("TEXT", "{query}", 160, 140, 700, 110),
        _el("ICON_MIC", "", 900, 140, 110, 110),
        _el("ICON_PLAY", "", 0, 300, 1080, 600),
        _row("{query} - full video", 920, h=120),
        _el("ICON_PLAY", "", 0, 1100, 1080, 600),
        _row("Best of {query}", 1720, h=120),
        *YOUTUBE_TABS,
        *NAV_BAR)),
    "youtube_player": Screen("YouTube", "YouTube video player", (
        _el("ICON_PAUSE", "", 0, 140, 1080, 610),
        _row("{query} - full video", 790, h=120),
        _el("ICON_THUMBS_UP", "{liked}", 40, 960, 200, 110),
        _el("ICON_SHARE", "Share", 300, 960, 200, 110),
        _el("TEXT", "Download", 560, 960, 220, 110),
        _el("TEXT", "Save", 840, 960, 180, 110),
        _el("BUTTON", "{subscribe}", 700, 1130, 320, 110),
        _row("Comments", 1320, h=110),
        *NAV_BAR)),
    "youtube_library": Screen("YouTube", "YouTube library", (
        _el("TEXT", "Recent", 60, 150, 300, 100),
        *_rows(("History", "Your videos", "Downloads", "Your movies", "Watch later",
                "Liked videos"), 320, 160, h=120),
        *YOUTUBE_TABS,
        *NAV_BAR)),
    "youtube_list": Screen("YouTube", "YouTube playlist", (
        BACK_ARROW,
        _el("TEXT", "{entry}", 160, 140, 700, 110),
        _el("BUTTON", "Play all", 60, 320, 460, 120),
        _el("BUTTON", "Shuffle", 560, 320, 460, 120),
        _el("ICON_PLAY", "", 40, 520, 400, 230),
        _el("TEXT", "Relaxing jazz piano - 3 hours", 480, 520, 560, 110),
        _el("ICON_PLAY", "", 40, 800, 400, 230),
        _el("TEXT", "Top 10 goals of the season", 480, 800, 560, 110),
        *NAV_BAR)),
    "youtube_shorts": Screen("YouTube", "YouTube shorts", (
        _el("ICON_MAGNIFYING_GLASS", "", 820, 140, 110, 110),
        _el("ICON_PAUSE", "", 0, 300, 1080, 1500),
        _el("ICON_THUMBS_UP", "12K", 900, 1100, 140, 140),
        _el("ICON_THUMBS_DOWN", "Dislike", 900, 1300, 140, 140),
        _el("ICON_CHAT", "318", 900, 1500, 140, 140),
        _el("ICON_SHARE", "Share", 900, 1700, 140, 140),
        _el("TEXT", "@dailyclips", 60, 1850, 500, 90),
        *YOUTUBE_TABS,
        *NAV_BAR)),

    # ---------------------------------------------------------------- Maps
    "maps_explore": Screen("Maps", "Maps explore", (
        _el("TEXT", "Search here", 60, 140, 800, 130),
        _el("ICON_MIC", "", 880, 150, 110, 110),
        _el("TEXT", "Restaurants", 40, 310, 300, 100),
        _el("TEXT", "Gas", 360, 310, 180, 100),
        _el("TEXT", "Coffee", 560, 310, 220, 100),
        _el("TEXT", "Groceries", 800, 310, 240, 100),
        _el("TEXT", "Mission District", 300, 900, 420, 80),
        _el("TEXT", "Dolores Park", 560, 1300, 360, 80),
        _el("ICON_LOCATION", "", 900, 1700, 130, 130),
        *MAPS_TABS,
        *NAV_BAR)),
    "maps_search": Screen("Maps", "Maps search page", _search_page(
        "Search here", ("Home", "Work", "Ferry Building"))),
    "maps_typed": Screen("Maps", "Maps search page", _typed_page(
        ("{query}, San Francisco, CA", "{query} parking", "{query} hours"))),
    "maps_place": Screen("Maps", "Maps place", (
        BACK_ARROW,
        _el("TEXT", "{dest}", 160, 140, 720, 110),
        _el("ICON_LOCATION", "", 480, 900, 120, 120),
        _el("TEXT", "4.6 (2,130 reviews)", 60, 1560, 600, 90),
        _el("TEXT", "Open now", 60, 1680, 400, 90),
        *_tabs(("Directions", "Call", "Save", "Share"), 1860),
        *NAV_BAR)),
    "maps_category": Screen("Maps", "Maps results", (
        BACK_ARROW,
        _el("TEXT", "{category}", 160, 140, 720, 110),
        _el("ICON_LOCATION", "", 300, 700, 120, 120),
        _el("ICON_LOCATION", "", 640, 880, 120, 120),
        _row("{place1}", 1300, h=110),
        _el("TEXT", "0.4 mi, Open 24 hours", 60, 1420, 600, 80),
        _el("BUTTON", "Directions", 60, 1530, 330, 110),
        _row("{place2}", 1720, h=110),
        _el("TEXT", "1.2 mi, Open until 10 PM", 60, 1840, 600, 80),
        *NAV_BAR)),
    "maps_directions": Screen("Maps", "Maps directions", (
        BACK_ARROW,
        _el("TEXT", "Your location", 160, 140, 800, 110),
        _el("TEXT", "{dest}", 160, 270, 800, 110),
        *_tabs(("Drive", "Transit", "Walk", "Bike"), 420),
        _el("TEXT", "12 min (3.4 mi)", 60, 1780, 600, 100),
        _el("BUTTON", "Start", 60, 1930, 330, 130),
        _el("BUTTON", "Steps", 430, 1930, 330, 130),
        *NAV_BAR)),
    "maps_navigation": Screen("Maps", "Maps navigation", (
        _el("ICON_ARROW_UPWARD", "Head north on Market St", 40, 140, 1000, 220),
        _el("TEXT", "{dest}", 60, 1700, 700, 100),
        _el("TEXT", "12 min", 60, 1830, 300, 100),
        _el("TEXT", "3.4 mi", 400, 1830, 300, 100),
        _el("ICON_X", "Exit", 880, 1820, 140, 140),
        *NAV_BAR)),
    "maps_saved": Screen("Maps", "Maps saved", (
        _el("TEXT", "Your lists", 60, 150, 400, 100),
        *_rows(("Favorites", "Want to go", "Travel plans", "Starred places", "Labeled"),
               320, 170),
        *MAPS_TABS,
        *NAV_BAR)),

    # ---------------------------------------------------------------- Calendar
    "calendar_month": Screen("Calendar", "Calendar month view", _month(
        "August 2022", *AUGUST_EVENTS)),
    "calendar_saved": Screen("Calendar", "Calendar month view", _month(
        "August 2022", _el("TEXT", "{title}, Mon 8", 60, 550, 440, 80), *AUGUST_EVENTS)),
    "calendar_next": Screen("Calendar", "Calendar month view", _month(
        "September 2022", _el("TEXT", "Labor Day, Mon 5", 60, 850, 440, 80))),
    "calendar_previous": Screen("Calendar", "Calendar month view", _month(
        "July 2022", _el("TEXT", "Independence Day, Mon 4", 60, 850, 440, 80))),
    "calendar_create": Screen("Calendar", "Calendar create menu", (
        _el("TEXT", "Goal", 600, 1240, 420, 130),
        _el("TEXT", "Reminder", 600, 1400, 420, 130),
        _el("TEXT", "Task", 600, 1560, 420, 130),
        _el("TEXT", "Event", 600, 1720, 420, 130),
        _el("ICON_X", "", 860, 1940, 160, 160),
        *NAV_BAR)),
    "calendar_event": Screen("Calendar", "Calendar new event", _event_editor("Add title")),
    "calendar_event_typed": Screen("Calendar", "Calendar new event", _event_editor("{title}")),
    "calendar_menu": Screen("Calendar", "Calendar menu", (
        _el("TEXT", "Google Calendar", 60, 150, 600, 100),
        *_rows(("Schedule", "Day", "3 days", "Week", "Month", "Birthdays", "Holidays",
                "Settings"), 320, 160, h=120),
        *NAV_BAR)),

    # ---------------------------------------------------------------- Play Store
    "play_home": Screen("Play Store", "Play Store home", (
        _el("TEXT", "Search for apps & games", 60, 140, 760, 130),
        _el("ICON_MIC", "", 840, 150, 110, 110),
        _el("ICON_PERSON", "", 960, 160, 90, 90),
        *_tabs(("For you", "Top charts", "Kids", "Categories"), 320),
        _el("TEXT", "Recommended for you", 60, 520, 700, 90),
        _el("ICON_PLAY", "Candy Crush Saga", 60, 660, 280, 280),
        _el("ICON_PLAY", "Roblox", 400, 660, 280, 280),
        _el("ICON_PLAY", "Subway Surfers", 740, 660, 280, 280),
        _el("TEXT", "Suggested for you", 60, 1100, 700, 90),
        *PLAY_TABS,
        *NAV_BAR)),
    "play_search": Screen("Play Store", "Play Store search page", _search_page(
        "Search for apps & games", ("free games", "vpn", "photo editor"))),
    "play_typed": Screen("Play Store", "Play Store search page", _typed_page(
        ("{query} app", "{query} premium", "{query} lite"))),
    "play_app": Screen("Play Store", "Play Store app page", _app_page(
        _el("TEXT", "4.4 star", 60, 640, 300, 90),
        _el("TEXT", "Contains ads", 400, 640, 400, 90),
        _el("BUTTON", "Install", 60, 820, 960, 120))),
    "play_installing": Screen("Play Store", "Play Store app page", _app_page(
        _el("TEXT", "Installing", 60, 640, 400, 90),
        _el("BUTTON", "Cancel", 60, 820, 460, 120),
        _el("BUTTON", "Open", 560, 820, 460, 120))),
    "play_no_results": Screen("Play Store", "Play Store search results", (
        BACK_ARROW,
        _el("TEXT", "{query}", 160, 140, 700, 110),
        _row("No results for {query}", 700, h=100),
        _row("Check your spelling or try different keywords", 840, h=100),
        *NAV_BAR)),
    "play_manage": Screen("Play Store", "Play Store manage apps", (
        BACK_ARROW,
        _el("TEXT", "Manage apps & device", 160, 150, 800, 100),
        *_tabs(("Overview", "Manage"), 320),
        _row("Updates available", 520),
        _el("BUTTON", "Update all", 700, 680, 320, 110),
        _row("Storage, 41% used", 900),
        *NAV_BAR)),

    # ---------------------------------------------------------------- pop-ups on app start
    "chrome_popup": Screen("Chrome", "Chrome sign-in prompt", _popup(
        "Sign in to Chrome?", "Get your bookmarks, passwords and more on all your devices",
        "No thanks", "Yes, I'm in")),
    "gmail_popup": Screen("Gmail", "Gmail notification prompt", _popup(
        "Allow Gmail to send you notifications?", "You can change this in settings",
        "Don't allow", "Allow")),
    "youtube_popup": Screen("YouTube", "YouTube Premium offer", _popup(
        "Try YouTube Premium", "Ad-free videos, downloads and background play",
        "Not now", "Try it free")),
    "maps_popup": Screen("Maps", "Maps location prompt", _popup(
        "For a better experience, turn on device location", "Uses Google's location service",
        "No thanks", "OK")),
    "play_popup": Screen("Play Store", "Play Store account setup prompt", _popup(
        "Complete account setup", "Add a payment method to buy apps and games",
        "Skip", "Continue")),
    "calendar_popup": Screen("Calendar", "Calendar what's new", _popup(
        "What's new in Calendar", "Add tasks and goals right from your calendar",
        "Learn more", "Got it")),
}

#: Each app's first screen, and a wrong screen of it where an episode may start (the person
#: presses back from there: AitW's PRESS_BACK "recovering from a wrong screen").
APPS = {
    #  app          main screen        wrong screen
    "Chrome":     ("chrome_main",    "chrome_tabs"),
    "Gmail":      ("gmail_inbox",    "gmail_menu"),
    "Settings":   ("settings_main",  "settings_battery"),
    "Clock":      ("clock_alarms",   "clock_timer"),
    "YouTube":    ("youtube_home",   "youtube_shorts"),
    "Maps":       ("maps_explore",   "maps_saved"),
    "Calendar":   ("calendar_month", "calendar_menu"),
    "Play Store": ("play_home",      "play_manage"),
}

#: Where each app's icon is: on the home screen, or one or two swipes into the app drawer.
LAUNCH = {"Chrome": "home", "Gmail": "home", "YouTube": "home", "Play Store": "home",
          "Clock": "drawer", "Calendar": "drawer", "Maps": "drawer", "Settings": "drawer_end"}

#: Pop-ups an app may show when it opens (a tip, a permission request) and the button that
#: dismisses them: the person clears them first, as in real episodes.
POPUPS = {"Chrome": ("chrome_popup", "No thanks"), "Gmail": ("gmail_popup", "Allow"),
          "YouTube": ("youtube_popup", "Not now"), "Maps": ("maps_popup", "OK"),
          "Play Store": ("play_popup", "Skip"), "Calendar": ("calendar_popup", "Got it")}
POPUP_RATE = 0.45

#: How an episode starts (weights): on the home screen; inside another app (press home
#: first); on a wrong screen of the goal's app (press back first; only where allowed).
STARTS = {"home": 0.15, "other_app": 0.5, "wrong_screen": 0.35}


# =========================================================================== goals

class Move(NamedTuple):
    """One scripted action. ``arg``: the tap target's text, the typed text or the swipe
    direction (templates over the episode's parameters); ``to``: the next screen; ``sets``:
    state the action changes (a switch flipped, a time picked)."""

    kind: str
    arg: str = ""
    to: str = ""
    sets: tuple[tuple[str, str], ...] = ()


def tap(target: str, to: str, **sets: str) -> Move:
    return Move("tap", target, to, tuple(sets.items()))


def type_(text: str, to: str) -> Move:
    return Move("type", text, to)


def enter(to: str) -> Move:
    return Move("enter", "", to)


def swipe(direction: str, to: str) -> Move:
    return Move("swipe", direction, to)


COMPLETE = Move("complete")
IMPOSSIBLE = Move("impossible")


@dataclass(frozen=True)
class GoalKind:
    """A family of goals: phrasings, parameter sets, and the script that achieves them.

    ``app``: the script starts on that app's main screen, reached from wherever the episode
    starts; None: it starts on the home screen. ``wrong_screen_start``: whether an episode may
    start on the app's wrong screen (not for "open app", which would already be done there).
    """

    name: str
    weight: float
    app: str | None
    goals: tuple[str, ...]
    params: tuple[dict, ...]
    script: tuple[Move, ...]
    wrong_screen_start: bool = True


# ---------------------------------------------------------------- parameter tables
# Drawn with replacement, so typed texts repeat across episodes as in real logs. The pools are
# small on purpose: the query head has no copy mechanism, so a typed text is learnable only when
# it recurs in training; with a few hundred episodes each text recurs about ten times.

GOOGLE_QUERIES = (
    "pizza places near me",
    "weather tomorrow",
    "best running shoes",
)
YOUTUBE_QUERIES = (
    "lo-fi music",
    "cat videos",
    "how to tie a tie",
)
WEBSITES = (
    "bbc.com",
    "wikipedia.org",
    "amazon.com",
)
PLACES = (
    "Golden Gate Park",
    "San Francisco Airport",
    "Union Square",
)
MAP_CATEGORIES = (
    {"what": "gas station", "category": "Gas", "place1": "Shell", "place2": "Chevron"},
    {"what": "coffee shop", "category": "Coffee", "place1": "Blue Bottle Coffee",
     "place2": "Starbucks"},
    {"what": "grocery store", "category": "Groceries", "place1": "Safeway",
     "place2": "Trader Joe's"},
    {"what": "restaurant", "category": "Restaurants", "place1": "Tony's Pizza",
     "place2": "Zuni Cafe"},
)
INSTALLABLE = (
    {"query": "Spotify", "title": "Spotify: Music and Podcasts", "developer": "Spotify AB"},
    {"query": "Instagram", "title": "Instagram: photos and reels", "developer": "Instagram (Meta)"},
    {"query": "WhatsApp", "title": "WhatsApp Messenger", "developer": "WhatsApp LLC"},
)
#: Apps the store does not have: "install" goals for them are infeasible.
NOT_IN_STORE = (
    "Zorblax Messenger",
    "PhotoMagic Ultra 9",
)
#: Apps the phone does not have: "open app" goals for them are infeasible.
NOT_ON_PHONE = ("Snapchat", "Slack", "Venmo", "Uber Eats")
GMAIL_QUERIES = (
    "flight confirmation",
    "receipt from amazon",
)
EMAILS = (
    {"to": "alice@example.com", "subject": "Lunch tomorrow", "body": "are you free at noon"},
    {"to": "bob.smith@gmail.com", "subject": "Meeting notes", "body": "notes attached"},
)
EVENT_TITLES = (
    "Dentist appointment",
    "Team meeting",
    "Mom's birthday",
)
#: Alarm times; 6:30 AM and 8:30 AM already exist on the phone.
ALARMS = tuple({"hour": str(h), "minute": m, "ampm": ampm, "ampm_low": ampm.lower()}
               for h in range(1, 13) for m in ("00", "15", "30", "45") for ampm in ("AM", "PM")
               if f"{h}:{m} {ampm}" not in ("6:30 AM", "8:30 AM"))
QUICK_TOGGLES = (
    # what the goal says, tile text, state slot, state before and after
    {"what": "bluetooth", "tile": "Bluetooth", "slot": "bluetooth", "before": "on",
     "after": "off"},
    {"what": "the flashlight", "tile": "Flashlight", "slot": "flashlight", "before": "off",
     "after": "on"},
    {"what": "do not disturb", "tile": "Do Not Disturb", "slot": "dnd", "before": "off",
     "after": "on"},
    {"what": "airplane mode", "tile": "Airplane mode", "slot": "airplane", "before": "off",
     "after": "on"},
    {"what": "battery saver", "tile": "Battery Saver", "slot": "saver", "before": "off",
     "after": "on"},
    {"what": "auto-rotate", "tile": "Auto-rotate", "slot": "rotate", "before": "off",
     "after": "on"},
    {"what": "location", "tile": "Location", "slot": "location", "before": "on",
     "after": "off"},
    {"what": "the hotspot", "tile": "Hotspot", "slot": "hotspot", "before": "off",
     "after": "on"},
)
YOUTUBE_LISTS = ({"what": "watch history", "entry": "History"},
                 {"what": "watch later list", "entry": "Watch later"},
                 {"what": "liked videos", "entry": "Liked videos"},
                 {"what": "downloads", "entry": "Downloads"})
TIMEOUTS = ("1 minute", "2 minutes", "5 minutes", "10 minutes")


def _each(values, *keys: str) -> tuple[dict, ...]:
    """Parameter sets that bind every key in ``keys`` to one of ``values``."""
    return tuple({k: v for k in keys} for v in values)


# Shared script fragments.
_YOUTUBE_FIND = (tap("Search", "youtube_search"), type_("{query}", "youtube_typed"),
                 enter("youtube_results"))
_YOUTUBE_PLAY = (*_YOUTUBE_FIND, tap("{query} - full video", "youtube_player"))
_GMAIL_FIND = (tap("Search in mail", "gmail_search"), type_("{query}", "gmail_typed"),
               enter("gmail_results"))
_PLAY_FIND = (tap("Search for apps & games", "play_search"), type_("{query}", "play_typed"))

#: The goal families, with weights tuned so that the action mix of ``generate()`` lands in
#: AitW's ranges (see the module docstring and tests/test_synthetic.py).
GOAL_KINDS: tuple[GoalKind, ...] = (
    GoalKind("open_app", 3, "{app}",
             ('open app "{app}"', 'open app "{app}" (install if not already installed)',
              "open the {app} app"),
             _each(("Clock", "Calendar", "Maps", "Settings"), "app"),
             (COMPLETE,), wrong_screen_start=False),
    GoalKind("open_missing_app", 4, None,
             ('open app "{app}"', "open the {app} app"),
             _each(NOT_ON_PHONE, "app"),
             (swipe("up", "drawer"), swipe("up", "drawer_end"), IMPOSSIBLE)),
    GoalKind("google_search", 4, None,
             ("search for {query} on Google", "google {query}", "look up {query}"),
             _each(GOOGLE_QUERIES, "query"),
             (tap("Search", "google_search"), type_("{query}", "google_typed"),
              enter("google_results"), COMPLETE)),
    GoalKind("chrome_site", 4, "Chrome",
             ("go to {query}", "open {query} in Chrome", "visit {query}"),
             _each(WEBSITES, "query"),
             (tap("Search or type web address", "chrome_search"),
              type_("{query}", "chrome_typed"), enter("chrome_page"),
              tap("Accept all cookies", "chrome_page_accepted"), COMPLETE)),
    GoalKind("youtube_search", 3, "YouTube",
             ("search YouTube for {query}", "search for {query} on YouTube"),
             _each(YOUTUBE_QUERIES, "query"),
             (*_YOUTUBE_FIND, COMPLETE)),
    GoalKind("youtube_play", 3, "YouTube",
             ("play {query} on YouTube", "watch a video of {query} on YouTube"),
             _each(YOUTUBE_QUERIES, "query"),
             (*_YOUTUBE_PLAY, COMPLETE)),
    GoalKind("youtube_like", 5, "YouTube",
             ("play {query} on YouTube and like the video", "find {query} on YouTube and like it"),
             _each(YOUTUBE_QUERIES, "query"),
             (*_YOUTUBE_PLAY, tap("Like", "youtube_player", liked="Liked"), COMPLETE)),
    GoalKind("youtube_subscribe", 2, "YouTube",
             ("play {query} on YouTube and subscribe to the channel",),
             _each(YOUTUBE_QUERIES, "query"),
             (*_YOUTUBE_PLAY, tap("Subscribe", "youtube_player", subscribe="Subscribed"),
              COMPLETE)),
    GoalKind("youtube_library", 2, "YouTube",
             ("show my {what} on YouTube", "open my YouTube {what}"),
             YOUTUBE_LISTS,
             (tap("Library", "youtube_library"), tap("{entry}", "youtube_list"), COMPLETE)),
    GoalKind("maps_navigate", 8, "Maps",
             ("navigate to {query}", "get directions to {query}", "take me to {query}"),
             _each(PLACES, "query", "dest"),
             (tap("Search here", "maps_search"), type_("{query}", "maps_typed"),
              enter("maps_place"), tap("Directions", "maps_directions"),
              tap("Start", "maps_navigation"), COMPLETE)),
    GoalKind("maps_nearest", 6, "Maps",
             ("navigate to the nearest {what}", "find the closest {what} and start navigation"),
             tuple({**c, "dest": c["place1"]} for c in MAP_CATEGORIES),
             (tap("{category}", "maps_category"), tap("Directions", "maps_directions"),
              tap("Start", "maps_navigation"), COMPLETE)),
    GoalKind("play_install", 5, "Play Store",
             ("install {query}", "install the {query} app", "download {query} from the Play Store"),
             INSTALLABLE,
             (*_PLAY_FIND, enter("play_app"), tap("Install", "play_installing"), COMPLETE)),
    GoalKind("play_install_missing", 5, "Play Store",
             ("install {query}", "install the {query} app"),
             _each(NOT_IN_STORE, "query"),
             (*_PLAY_FIND, enter("play_no_results"), IMPOSSIBLE)),
    GoalKind("gmail_search", 2, "Gmail",
             ("search my email for {query}", "find emails about {query} in Gmail"),
             _each(GMAIL_QUERIES, "query"),
             (*_GMAIL_FIND, COMPLETE)),
    GoalKind("gmail_open", 3, "Gmail",
             ("find the email about {query} and open it", "open my email about {query}"),
             _each(GMAIL_QUERIES, "query"),
             (*_GMAIL_FIND, tap("Inbox, {query}", "gmail_message"), COMPLETE)),
    GoalKind("gmail_send", 5, "Gmail",
             ("send an email to {to} with subject {subject} saying {body}",
              "email {to} with the subject {subject} and the message {body}"),
             EMAILS,
             (tap("Compose", "gmail_compose"), type_("{to}", "gmail_compose_to"),
              tap("Subject", "gmail_compose_to"), type_("{subject}", "gmail_compose_subject"),
              tap("Compose email", "gmail_compose_subject"),
              type_("{body}", "gmail_compose_done"), tap("Send", "gmail_sent"), COMPLETE)),
    GoalKind("clock_alarm", 11, "Clock",
             ("set an alarm for {hour}:{minute}{ampm_low}",
              "set an alarm for {hour}:{minute} {ampm}",
              "create an alarm at {hour}:{minute} {ampm}"),
             ALARMS,
             (tap("Add alarm", "clock_picker"),
              tap("{hour}", "clock_picker_minutes", picked="{hour}:--"),
              tap("{minute}", "clock_picker_minutes", picked="{hour}:{minute}"),
              tap("{ampm}", "clock_picker_minutes", picked="{hour}:{minute} {ampm}"),
              tap("OK", "clock_alarm_added"), COMPLETE)),
    GoalKind("calendar_event", 7, "Calendar",
             ("create a calendar event called {title}", "add {title} to my calendar today"),
             _each(EVENT_TITLES, "title"),
             (tap("Create", "calendar_create"), tap("Event", "calendar_event"),
              type_("{title}", "calendar_event_typed"), tap("Save", "calendar_saved"),
              COMPLETE)),
    GoalKind("calendar_next_month", 1.5, "Calendar",
             ("show next month in Calendar", "go to next month in the calendar app"),
             ({},), (swipe("left", "calendar_next"), COMPLETE)),
    GoalKind("calendar_previous_month", 1, "Calendar",
             ("show last month in Calendar", "go to the previous month in the calendar app"),
             ({},), (swipe("right", "calendar_previous"), COMPLETE)),
    GoalKind("quick_toggle", 2.5, None,
             ("turn {after} {what}", "switch {after} {what}"),
             QUICK_TOGGLES,
             (swipe("down", "quick_settings"),
              tap("{tile}, {before}", "quick_settings", **{"{slot}": "{after}"}), COMPLETE)),
    GoalKind("settings_wifi", 4, "Settings",
             ("turn on wifi", "turn wifi on", "enable wi-fi in settings"),
             ({},),
             (tap("Network & internet", "settings_network"), tap("Internet", "settings_internet"),
              tap("Wi-Fi, off", "settings_internet", wifi="on"), COMPLETE)),
    GoalKind("settings_dark", 2, "Settings",
             ("turn on dark theme", "enable dark mode"),
             ({},),
             (swipe("up", "settings_middle"), tap("Display", "settings_display"),
              tap("Dark theme, off", "settings_display", dark="on"), COMPLETE)),
    GoalKind("settings_timeout", 3, "Settings",
             ("set the screen timeout to {choice}", "change screen timeout to {choice}"),
             _each(TIMEOUTS, "choice"),
             (swipe("up", "settings_middle"), tap("Display", "settings_display"),
              tap("Screen timeout, {timeout}", "settings_timeout"),
              tap("{choice}", "settings_display", timeout="{choice}"), COMPLETE)),
    GoalKind("settings_ringtone", 4, "Settings",
             ("change the ringtone to {tone}", "set my phone ringtone to {tone}"),
             _each(RINGTONES[1:], "tone"),
             (swipe("up", "settings_middle"), tap("Sound & vibration", "settings_sound"),
              tap("Phone ringtone, {ringtone}", "settings_ringtone"),
              tap("{tone}", "settings_ringtone", ringtone="{tone}"),
              tap("Save", "settings_sound"), COMPLETE)),
    GoalKind("settings_pair", 2, "Settings",
             ("pair a new bluetooth device", "connect a new bluetooth device"),
             ({},),
             (tap("Connected devices", "settings_connected"),
              tap("Pair new device", "settings_pair"), COMPLETE)),
    GoalKind("settings_about", 2, "Settings",
             ("check the android version", "show me the phone's build number",
              'open "About phone" in settings'),
             ({},),
             (swipe("up", "settings_middle"), swipe("up", "settings_end"),
              tap("About phone", "settings_about"), COMPLETE)),
)

#: Finger paths as screen fractions (touch x, touch y, lift x, lift y) and their jitter;
#: "up" = the finger moves up (the content scrolls down). Every path spans >= 25 % of the
#: screen; "down" starts at the top edge, to pull down quick settings.
SWIPES = {
    "up":    ((0.50, 0.75, 0.50, 0.30), (0.08, 0.04, 0.02, 0.04)),
    "down":  ((0.50, 0.03, 0.50, 0.55), (0.10, 0.01, 0.02, 0.05)),
    "left":  ((0.85, 0.50, 0.15, 0.50), (0.03, 0.10, 0.03, 0.01)),
    "right": ((0.15, 0.50, 0.85, 0.50), (0.03, 0.10, 0.03, 0.01)),
}

#: How the previous action is named in the prompt.
PREVIOUS_NAMES = {"tap": "TAP", "type": "TYPE", "enter": "PRESS_ENTER", "back": "PRESS_BACK",
                  "home": "PRESS_HOME", "swipe": "SWIPE_{arg}"}
ACTION_CODES = {"tap": actions.DUAL_POINT, "swipe": actions.DUAL_POINT, "type": actions.TYPE,
                "enter": actions.PRESS_ENTER, "back": actions.PRESS_BACK,
                "home": actions.PRESS_HOME, "complete": actions.STATUS_TASK_COMPLETE,
                "impossible": actions.STATUS_TASK_IMPOSSIBLE}


# =========================================================================== generation

class _State(dict):
    """Episode parameters and switch states; a missing field is a bug in the tables."""

    def __missing__(self, key):
        raise KeyError(f"synthetic world: no value for {{{key}}}")

    def fill(self, template: str) -> str:
        return template.format_map(self)


class _Geometry:
    """Maps reference-layout boxes and screen fractions to whole pixels of the real screen."""

    def __init__(self, screen: tuple[int, int]):
        self.width, self.height = screen
        self.sx = self.width / REFERENCE_SCREEN[0]
        self.sy = self.height / REFERENCE_SCREEN[1]

    def box(self, ref_box, dx: int, dy: int) -> tuple[int, int, int, int]:
        x, y, w, h = ref_box
        x0 = self._px((x + dx) * self.sx, self.width)
        x1 = self._px((x + dx + w) * self.sx, self.width)
        y0 = self._px((y + dy) * self.sy, self.height)
        y1 = self._px((y + dy + h) * self.sy, self.height)
        return (x0, y0, x1 - x0, y1 - y0)

    def point(self, fx: float, fy: float) -> tuple[int, int]:
        return (self._px(fx * self.width, self.width), self._px(fy * self.height, self.height))

    @staticmethod
    def _px(v: float, limit: int) -> int:
        return min(max(round(v), 0), limit)


@dataclass
class _View:
    """A screen as one step sees it: texts filled in, boxes placed in pixels."""

    key: str
    title: str
    elements: list[tuple[str, str]]          # (ui, text)
    boxes: list[tuple[int, int, int, int]]   # pixels, same order

    def box_of(self, text: str) -> tuple[int, int, int, int]:
        hits = [i for i, (_, t) in enumerate(self.elements) if t == text]
        if len(hits) != 1:
            raise RuntimeError(f"synthetic world: {len(hits)} elements {text!r} on {self.key}")
        return self.boxes[hits[0]]


def _view(key: str, state: _State, placed: dict, rng: random.Random,
          geometry: _Geometry) -> _View:
    """Render screen ``key``; ``placed`` holds the episode's element boxes, drawn (with their
    jitter) the first time the screen is shown, so they stay put within the episode."""
    screen = SCREENS[key]
    if key not in placed:
        placed[key] = [geometry.box(el.box, rng.randint(-ELEMENT_JITTER, ELEMENT_JITTER),
                                    rng.randint(-ELEMENT_JITTER, ELEMENT_JITTER))
                       for el in screen.elements]
    return _View(key, screen.title, [(el.ui, state.fill(el.text)) for el in screen.elements],
                 placed[key])


def _tap_point(box, rng: random.Random) -> tuple[int, int]:
    """The box's centre plus a little jitter, kept strictly inside the box."""
    x, y, w, h = box

    def axis(start, size):
        v = round(start + size / 2 + rng.uniform(-TAP_JITTER, TAP_JITTER) * size)
        return min(max(v, start + 1), start + size - 1) if size >= 2 else start + size // 2

    return (axis(x, w), axis(y, h))


def _swipe_points(direction: str, rng: random.Random, geometry: _Geometry):
    """Touch and lift of a swipe; the finger drifts a little off the main axis."""
    (tx, ty, lx, ly), (jtx, jty, jlx, jly) = SWIPES[direction]
    touch_x, touch_y = tx + rng.uniform(-jtx, jtx), ty + rng.uniform(-jty, jty)
    if direction in ("up", "down"):
        lift_x, lift_y = touch_x + rng.uniform(-jlx, jlx), ly + rng.uniform(-jly, jly)
    else:
        lift_x, lift_y = lx + rng.uniform(-jlx, jlx), touch_y + rng.uniform(-jly, jly)
    return geometry.point(touch_x, touch_y), geometry.point(lift_x, lift_y)


def _weighted(rng: random.Random, pairs):
    """One item of ``(item, weight)`` pairs, drawn with probability proportional to weight."""
    items, weights = zip(*pairs)
    return rng.choices(items, weights=weights, k=1)[0]


def _launch(app: str, rng: random.Random, room: int) -> list[Move]:
    """From the home screen to ``app``'s main screen; a pop-up may show if there is ``room``
    left in the episode for the extra tap."""
    moves = []
    if LAUNCH[app] in ("drawer", "drawer_end"):
        moves.append(swipe("up", "drawer"))
    if LAUNCH[app] == "drawer_end":
        moves.append(swipe("up", "drawer_end"))
    main = APPS[app][0]
    if app in POPUPS and rng.random() < POPUP_RATE and room >= len(moves) + 2:
        popup, dismiss = POPUPS[app]
        return moves + [tap(app, popup), tap(dismiss, main)]
    return moves + [tap(app, main)]


def _plan(kind: GoalKind, app: str | None, rng: random.Random,
          start: str | None = None) -> tuple[str, list[Move]]:
    """The first screen and the full list of moves: getting to the script's start, then it."""
    if start is None:
        start = _weighted(rng, [(k, w) for k, w in STARTS.items() if k != "wrong_screen"
                                or (app is not None and kind.wrong_screen_start)])
    if start == "wrong_screen":
        return APPS[app][1], [Move("back", "", APPS[app][0]), *kind.script]
    moves: list[Move] = []
    first = "home"
    if start == "other_app":
        first = APPS[rng.choice(sorted(a for a in APPS if a != app))][0]
        moves.append(Move("home", "", "home"))
    if app is not None:
        moves += _launch(app, rng, MAX_STEPS - len(moves) - len(kind.script))
    return first, moves + list(kind.script)


def _play(kind: GoalKind, params: dict, goal_template: str, rng: random.Random,
          geometry: _Geometry, start: str | None = None) -> list[dict]:
    """Play one episode; each step as a dict of prompt, pixel boxes and pixel action."""
    state = _State({**DEFAULT_STATE, **params})
    goal = state.fill(goal_template)
    app = state.fill(kind.app) if kind.app else None
    screen, moves = _plan(kind, app, rng, start)
    placed: dict = {}
    previous = "none"
    steps = []
    for move in moves:
        view = _view(screen, state, placed, rng, geometry)
        touch = lift = None
        if move.kind == "tap":
            touch = lift = _tap_point(view.box_of(state.fill(move.arg)), rng)
        elif move.kind == "swipe":
            touch, lift = _swipe_points(move.arg, rng, geometry)
        steps.append({"prompt": render_prompt(goal, view.title, previous, view.elements),
                      "boxes": view.boxes, "action_type": ACTION_CODES[move.kind],
                      "type_text": state.fill(move.arg) if move.kind == "type" else "",
                      "touch": touch, "lift": lift})
        for slot, value in move.sets:
            state[state.fill(slot)] = state.fill(value)
        previous = PREVIOUS_NAMES.get(move.kind, "none").format(arg=move.arg.upper())
        screen = move.to or screen
    return steps


#: Worlds: which goal families an episode is drawn from, with which weights. ``small`` (the
#: default) keeps the families whose tap targets are few and whose typed texts recur, so a
#: 2-layer encoder learns every head within a CPU budget of a few hundred steps; it leaves out
#: the clock's dial, the calendar grid, Gmail and the deep settings pages. ``full`` is all 27.
WORLDS: dict[str, dict[str, float]] = {
    "full": {k.name: k.weight for k in GOAL_KINDS},
    "small": {"open_app": 3, "open_missing_app": 2, "google_search": 2, "chrome_site": 4,
              "youtube_search": 2, "youtube_play": 6, "maps_navigate": 6, "play_install": 4,
              "play_install_missing": 3, "quick_toggle": 5, "settings_wifi": 6,
              "settings_dark": 3, "settings_pair": 5, "settings_about": 1,
              "calendar_next_month": 1, "calendar_previous_month": 1},
}


def _episode(rng: random.Random, geometry: _Geometry, world: str) -> list[dict]:
    weights = WORLDS[world]
    kind = _weighted(rng, [(k, weights[k.name]) for k in GOAL_KINDS if k.name in weights])
    params = rng.choice(kind.params)
    return _play(kind, params, rng.choice(kind.goals), rng, geometry)


def render_prompt(goal: str, title: str, previous: str, elements) -> str:
    """What an AitW agent reads: goal, screen title, previous action, elements (no boxes), in
    the layout every reader uses (:func:`harness.data.prompts.render_prompt`)."""
    return prompts.render_prompt(goal, elements, screen=title, previous=previous)


_PROMPT = re.compile(r"Goal: (?P<goal>.*)\. Screen: (?P<screen>.*?)\. "
                     r"Previous: (?P<previous>\S+)\. Elements: (?P<elements>.*)", re.S)


def parse_prompt(prompt: str) -> dict:
    """Split a synthetic prompt into goal, screen, previous and the elements' labels (as
    :func:`harness.data.prompts.render_element` wrote them), in the order of the step's boxes."""
    m = _PROMPT.fullmatch(prompt)
    if not m:
        raise ValueError(f"not a synthetic prompt: {prompt[:80]!r}")
    return {"goal": m["goal"], "screen": m["screen"], "previous": m["previous"],
            "elements": m["elements"].split(prompts.SEPARATOR)}


def generate(n_episodes: int = 400, seed: int = 0, units: str = "pixel",
             screen: tuple[int, int] = (1080, 2400), world: str = "small") -> Dataset:
    """A deterministic synthetic AitW-style data set.

    Same arguments, same data set; no global random state is used. Episode ``i`` has its own
    random stream derived from ``(seed, i)``, so a smaller ``n_episodes`` gives a prefix of a
    larger one, and the pixel and normalized versions of one seed and screen describe the same
    episodes: normalized values are the pixel values divided by the screen width (x) and
    height (y).
    """
    if units not in UNITS:
        raise DataError(f"unknown coordinate units {units!r}; expected one of {UNITS}")
    if n_episodes < 1:
        raise DataError(f"n_episodes must be at least 1, got {n_episodes}")
    if world not in WORLDS:
        raise DataError(f"unknown synthetic world {world!r}; expected one of {list(WORLDS)}")
    screen = (int(screen[0]), int(screen[1]))
    unit = Units(units, screen)   # validates the screen size
    geometry = _Geometry(screen)
    sx, sy = (1.0, 1.0) if units == PIXEL else (float(screen[0]), float(screen[1]))

    def point(p):
        return actions.NO_POINT if p is None else (p[0] / sx, p[1] / sy)

    steps = []
    for e in range(n_episodes):
        key = f"synthetic-{e:06d}"
        rng = random.Random(f"synthetic/{seed}/{e}")
        for i, raw in enumerate(_episode(rng, geometry, world)):
            steps.append(Step(
                episode=key, index=i, prompt=raw["prompt"],
                boxes=tuple((x / sx, y / sy, w / sx, h / sy) for x, y, w, h in raw["boxes"]),
                action_type=raw["action_type"], type_text=raw["type_text"],
                touch=point(raw["touch"]), lift=point(raw["lift"])))
    source = f"synthetic(n_episodes={n_episodes}, seed={seed}, units={units}, world={world}"
    source += ")" if screen == REFERENCE_SCREEN else f", screen={screen[0]}x{screen[1]})"
    notes = [f"synthetic AitW-style episodes ({world} world): {len(WORLDS[world])} goal families over "
             f"{len(APPS)} apps; element boxes fixed per screen, +-{ELEMENT_JITTER} px "
             f"per-episode jitter on the {REFERENCE_SCREEN[0]}x{REFERENCE_SCREEN[1]} reference "
             f"layout, scaled to {screen[0]}x{screen[1]}"]
    return Dataset(steps=steps, units=unit, source=source, axis_order_in_source="xy",
                   notes=notes)


__all__ = ["generate", "parse_prompt", "render_prompt", "SCREENS", "APPS", "GOAL_KINDS"]
