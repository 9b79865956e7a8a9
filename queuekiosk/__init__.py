"""queuekiosk: queue ticketing for one-stop administrative centres.

The code lives in the folders of the design card (server/, printers/, sounds/, ...);
setup.py installs each of them as a subpackage of ``queuekiosk``.
"""

__version__ = "0.1.0"
