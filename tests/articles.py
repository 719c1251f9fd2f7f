"""Small articles written for the tests (not copied from anywhere)."""

SCRAPED_WITH_HEADINGS = """Skip to content

Harbour Town Council Approves New Ferry Link

A second crossing to the island is expected to open next spring after a narrow vote

The council of Harbour Town voted on Tuesday to fund a second ferry link to Gull Island, ending a debate that has divided residents for three years.

Supporters say the new route will cut waiting times in half during the summer, when queues at the old pier often stretch past the market square.

Why the vote was close

Opponents argued that the money would be better spent on repairing the old pier, which has been closed twice this year for safety checks.

“We are building a second door while the first one is falling off its hinges,” said one councillor, who voted against the plan.

What happens next

The council will now ask three shipping companies to bid for the contract, with a decision due by the end of the year.

Work on the new landing stage could begin in February if the weather allows.

Sign up for our morning newsletter

Recommended for you
"""

PLAIN_NO_HEADINGS = """Rail Strike Called Off After Late Talks

A planned two-day rail strike has been called off after union leaders and the operator reached a late agreement on Sunday night.

The deal includes a pay rise over two years and a review of weekend rosters, the union said in a statement.

Passengers had been warned to expect severe disruption on Monday and Tuesday, and several schools had planned to close early.

The operator said all services would run as normal, although some early trains may be busier than usual.
"""
