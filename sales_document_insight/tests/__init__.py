from . import test_sales_target
from . import test_customer_insight
from . import test_dashboard
from . import test_insight_rpc
from . import test_insight_tours
