"""The traffic of mysql__remora__query-attributes.pcap: mysql-connector-python (pure
Python, so its bytes are the library's own) against mysql8_server.py, with and without
query attributes.

    python3 mysql8_client.py ADDRESS PORT
"""

import sys

import mysql.connector

connection = mysql.connector.connect(host=sys.argv[1], port=int(sys.argv[2]), user="shop", password="secret",
                                     database="shop", use_pure=True, ssl_disabled=True)
cursor = connection.cursor()
cursor.execute("SELECT version()")
cursor.fetchall()
cursor.add_attribute("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
cursor.add_attribute("retries", 2)
cursor.execute("UPDATE orders SET state = 'paid' WHERE id = 7")
cursor.clear_attributes()
cursor.execute("SHOW DATABASES")
connection.close()
