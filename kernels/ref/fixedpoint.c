/* The requantization rounding switch (see edgerun/fixedpoint.h). */
#include "edgerun/fixedpoint.h"

int er_rounding_mode = 0;

void er_set_rounding_mode(int mode) { er_rounding_mode = mode ? 1 : 0; }
int er_get_rounding_mode(void) { return er_rounding_mode; }
