from . import chain
from . import xlsx_export
