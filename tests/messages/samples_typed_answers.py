"""Sample values for a refused NIK's reason, "Maksud Anda ...?" and words that fit two
buttons (issue 16 point 8)."""

SAMPLE = {
    "nik_problem": "length", "nik_length": 15, "near_kecamatan": ["Patebon"],
    "ambiguous_labels": ["⛔ Hentikan: SITI AMINAH", "⛔ Hentikan: SITI AMINAH"],
}
