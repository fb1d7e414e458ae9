"""Realistic inputs for the real models: rendered text from Debian fonts and word lists.

`fonts` finds the installed faces, `words` draws labels from the word lists,
`splits` keeps calibration, validation and test disjoint in fonts and words,
`text` renders and degrades a text line and applies PaddleOCR's resize rule,
`ocr_rec` and `ocr_cls` build labelled sets and score the two OCR models,
`stats` gives every accuracy its 95 % interval.
"""
