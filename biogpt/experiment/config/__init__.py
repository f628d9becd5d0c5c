"""The config, from the command line to typed settings: the schemas Hydra checks types against
(:mod:`.schema`), the command-line overrides checked before Hydra runs (:mod:`.overrides`), the one
validation of a composed config (:mod:`.validation`), the settings the library takes
(:mod:`.settings`), the README's option pages rendered from them (:mod:`.options_doc`), and where the
config tree is and which root config a command line belongs to (:mod:`.paths`, :mod:`.routing`)."""
