"""The second stage, the warning register (预警库) and one plan per student (一生一策): issue 19."""
