# A two-stage tree where the lower stage includes the higher one: the layering check must refuse it.
set(NODULECAD_MODULES "low;high")
set(NODULECAD_low_DEPENDS "")
set(NODULECAD_high_DEPENDS "low")
