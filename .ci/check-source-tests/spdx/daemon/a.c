/* no licence line here */
int x;
