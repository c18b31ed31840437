"""Place names that tell two otherwise identical headlines apart, in English, Dari and Pashto.

Each place maps its spellings to one key; spellings are folded with `matchtext.fold` on load.
"""

from __future__ import annotations

from aggregator.matchtext import fold

_SPELLINGS: dict[str, tuple[str, ...]] = {
    "badakhshan": ("Badakhshan", "بدخشان"),
    "badghis": ("Badghis", "بادغیس"),
    "baghlan": ("Baghlan", "بغلان"),
    "balkh": ("Balkh", "بلخ"),
    "bamyan": ("Bamyan", "Bamiyan", "بامیان"),
    "daykundi": ("Daykundi", "Daikundi", "دایکندی", "دایکنډي"),
    "farah": ("Farah", "فراه"),
    "faryab": ("Faryab", "فاریاب"),
    "ghazni": ("Ghazni", "غزنی", "غزني"),
    "ghor": ("Ghor", "غور"),
    "helmand": ("Helmand", "هلمند"),
    "herat": ("Herat", "هرات"),
    "jowzjan": ("Jowzjan", "Jawzjan", "جوزجان"),
    "kabul": ("Kabul", "کابل"),
    "kandahar": ("Kandahar", "قندهار", "کندهار"),
    "kapisa": ("Kapisa", "کاپیسا"),
    "khost": ("Khost", "خوست"),
    "kunar": ("Kunar", "کنر"),
    "kunduz": ("Kunduz", "کندز", "کندوز"),
    "laghman": ("Laghman", "لغمان"),
    "logar": ("Logar", "لوگر", "لوګر"),
    "nangarhar": ("Nangarhar", "ننگرهار", "ننګرهار"),
    "nimroz": ("Nimroz", "نیمروز"),
    "nuristan": ("Nuristan", "نورستان"),
    "paktia": ("Paktia", "Paktiya", "پکتیا"),
    "paktika": ("Paktika", "پکتیکا"),
    "panjshir": ("Panjshir", "پنجشیر"),
    "parwan": ("Parwan", "پروان"),
    "samangan": ("Samangan", "سمنگان"),
    "sarepol": ("Sar-e Pol", "Sar-e-Pul", "Sari Pul", "سرپل", "سر پل"),
    "takhar": ("Takhar", "تخار"),
    "uruzgan": ("Uruzgan", "Oruzgan", "ارزگان", "اروزگان"),
    "wardak": ("Wardak", "Maidan Wardak", "وردک"),
    "zabul": ("Zabul", "زابل"),
    "mazar": ("Mazar-i-Sharif", "Mazar-e-Sharif", "Mazar", "مزار شریف", "مزارشریف"),
    "jalalabad": ("Jalalabad", "جلال آباد", "جلال‌آباد", "جلالاباد"),
    "torkham": ("Torkham", "تورخم"),
    "spinboldak": ("Spin Boldak", "سپین بولدک"),
    "islamqala": ("Islam Qala", "اسلام قلعه"),
    "pakistan": ("Pakistan", "پاکستان", "Islamabad", "اسلام آباد", "اسلام‌آباد"),
    "iran": ("Iran", "ایران", "Tehran", "تهران"),
    "tajikistan": ("Tajikistan", "تاجیکستان", "Dushanbe"),  # not دوشنبه: also "Monday"
    "uzbekistan": ("Uzbekistan", "ازبکستان", "Tashkent", "تاشکند"),
    "turkmenistan": ("Turkmenistan", "ترکمنستان"),
    "china": ("China", "چین", "Beijing"),
    "india": ("India", "هند", "New Delhi"),
    "russia": ("Russia", "روسیه", "Moscow", "مسکو"),
    "qatar": ("Qatar", "Doha", "قطر", "دوحه"),
    "turkey": ("Turkey", "Türkiye", "ترکیه", "Ankara"),
    "germany": ("Germany", "آلمان", "Berlin"),
    "usa": ("United States", "Washington", "امریکا", "آمریکا"),
    "uk": ("Britain", "United Kingdom", "London", "بریتانیا"),
    "geneva": ("Geneva", "ژنو"),
}

PLACES: dict[tuple[str, ...], str] = {
    tuple(fold(spelling).split()): key
    for key, spellings in _SPELLINGS.items()
    for spelling in spellings
}
LONGEST = max(len(words) for words in PLACES)
_FIRST_WORDS = frozenset(words[0] for words in PLACES)


def places_in(words: list[str]) -> frozenset[str]:
    """The place keys named in a list of folded words (multi-word names included)."""
    found = set()
    for start, word in enumerate(words):
        if word not in _FIRST_WORDS:
            continue
        for size in range(LONGEST, 0, -1):
            key = PLACES.get(tuple(words[start : start + size]))
            if key:
                found.add(key)
                break
    return frozenset(found)
