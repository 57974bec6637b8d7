"""Benchmarks: the generator and drag-iteration timings (`generator`), DragGAN's face-landmark
benchmark (`drag`) and the slider-preview timing (`slider`). They sit on top of the engine."""
